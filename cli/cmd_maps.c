// SPDX-License-Identifier: MIT
/*
 * cmd_maps.c - `hmm-mirror maps --pid PID`: the process's mappings, each
 * with what a device mirroring it sees (SNAPSHOT over the mapping): how
 * much is present, writable, in huge pages, and what cannot be mirrored
 * and why.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "common.h"
#include "format.h"
#include "json.h"
#include "procmaps.h"
#include "runs.h"

/* x86-64 user space ends at 128 TiB with 4-level page tables; the device
 * page table covers 48 bits. */
#define USER_LIMIT (1ULL << 47)
#define MAX_NOTES 4

struct tally {
	uint64_t present, writable, zero, huge, error, absent;	/* bytes */
};

struct verdict {
	const char *mirrorable;	/* "yes", "partly", "no", "skipped" */
	const char *notes[MAX_NOTES];
	int nnotes;
	char error_note[160];
};

static void help(void)
{
	printf("usage: %s --pid PID [--json]\n"
	       "\n"
	       "List the mappings of process PID (/proc/PID/smaps) and annotate each\n"
	       "with what a device mirroring the process sees, from a SNAPSHOT of\n"
	       "the whole mapping (nothing is faulted): how much is present,\n"
	       "writable and in huge pages, and what cannot be mirrored and why:\n"
	       "  PROT_NONE                   no access rights: device faults fail\n"
	       "  VM_IO / VM_PFNMAP           special mappings without struct pages,\n"
	       "                              such as [vvar]: hmm_range_fault() reports\n"
	       "                              them as errors\n"
	       "  outside the user range      [vsyscall] is a fixed page in kernel\n"
	       "                              space (above TASK_SIZE): the module\n"
	       "                              rejects such ranges, so it is skipped\n"
	       "Read-only mappings are noted: a device can read them but write\n"
	       "faults fail (EPERM).  \"Not present\" memory (never touched, or\n"
	       "swapped out) is mirrorable: a device fault would bring it in.\n"
	       "\n"
	       "  -p, --pid PID  the process (needs ptrace access to it: same user\n"
	       "                 or root; the module feature \"attach\")\n"
	       "  --json         one JSON document (addresses as \"0x...\" strings,\n"
	       "                 sizes in bytes); on a failure it has \"error\"\n"
	       "                 instead of \"totals\", or is {\"error\":{...}}\n"
	       "  --help         this text\n"
	       "\n" EXIT_CODES_HELP, prog);
}

static int on_run(void *ctx, uint64_t start, uint64_t end, uint32_t state)
{
	struct tally *t = ctx;
	uint64_t n = end - start;

	if (state & HMM_MIRROR_PAGE_ERROR) {
		t->error += n;
		return 0;
	}
	if (!(state & HMM_MIRROR_PAGE_VALID)) {
		t->absent += n;
		return 0;
	}
	t->present += n;
	if (state & HMM_MIRROR_PAGE_WRITE)
		t->writable += n;
	if (state & HMM_MIRROR_PAGE_ZERO)
		t->zero += n;
	if (HMM_MIRROR_PAGE_ORDER(state))
		t->huge += n;
	return 0;
}

static void note(struct verdict *v, const char *text)
{
	if (v->nnotes < MAX_NOTES)
		v->notes[v->nnotes++] = text;
}

/* Snapshot one mapping and decide what to say about it. */
static int analyse(struct hmm_mirror *m, const struct mapping *map,
		   struct tally *t, struct verdict *v)
{
	const uint64_t size = map->end - map->start;
	int ret;

	memset(t, 0, sizeof(*t));
	memset(v, 0, sizeof(*v));
	if (map->end > USER_LIMIT || map->end < map->start) {
		v->mirrorable = "skipped";
		note(v, !strcmp(map->path, "[vsyscall]") ?
		     "skipped: outside the user address range ([vsyscall] is a fixed legacy page in kernel space, above TASK_SIZE; the module rejects such ranges with EINVAL)" :
		     "skipped: outside the user address range (above TASK_SIZE)");
		return 0;
	}
	ret = snapshot_runs(m, map->start, size, on_run, t);
	if (ret == -EINVAL) {
		v->mirrorable = "skipped";
		note(v, "skipped: the module rejects this range (beyond TASK_SIZE or the 48-bit device page table)");
		return 0;
	}
	if (ret)
		return ret;

	if (!t->error)
		v->mirrorable = "yes";
	else
		v->mirrorable = t->error == size ? "no" : "partly";
	if (t->error) {
		const char *why;

		if (!strncmp(map->perms, "---", 3))
			why = "PROT_NONE: no access rights, a device fault fails with EFAULT";
		else if (mapping_has_flag(map, "io") || mapping_has_flag(map, "pf"))
			why = mapping_has_flag(map, "io") && mapping_has_flag(map, "pf") ?
			      "VM_IO|VM_PFNMAP special mapping (no struct pages): hmm_range_fault() reports it as an error" :
			      mapping_has_flag(map, "io") ?
			      "VM_IO special mapping: hmm_range_fault() reports it as an error" :
			      "VM_PFNMAP special mapping (no struct pages): hmm_range_fault() reports it as an error";
		else
			why = "the kernel reports these pages as an error to hmm_range_fault()";
		snprintf(v->error_note, sizeof(v->error_note), "not mirrorable: %s", why);
		note(v, v->error_note);
	}
	if (map->perms[0] == 'r' && map->perms[1] != 'w' && t->error != size)
		note(v, "read-only: a device can read it, write faults fail with EPERM");
	return 0;
}

static void json_mapping(struct json *j, const struct mapping *map,
			 const struct tally *t, const struct verdict *v,
			 bool have_smaps)
{
	json_object_begin(j, NULL);
	json_hex(j, "start", map->start);
	json_hex(j, "end", map->end);
	json_u64(j, "size", map->end - map->start);
	json_string(j, "perms", map->perms);
	json_hex(j, "offset", map->offset);
	json_u64(j, "inode", map->inode);
	json_string(j, "path", map->path);
	if (have_smaps) {
		char flags[sizeof(map->vmflags)];
		char *save = NULL;

		snprintf(flags, sizeof(flags), "%s", map->vmflags);
		json_array_begin(j, "vmflags");
		for (char *f = strtok_r(flags, " ", &save); f; f = strtok_r(NULL, " ", &save))
			json_string(j, NULL, f);
		json_array_end(j);
		json_u64(j, "rss_kb", map->rss_kb);
		json_u64(j, "anon_huge_kb", map->anon_huge_kb);
		json_u64(j, "hugetlb_kb", map->hugetlb_kb);
	}
	json_string(j, "mirrorable", v->mirrorable);
	if (strcmp(v->mirrorable, "skipped")) {
		json_u64(j, "present", t->present);
		json_u64(j, "writable", t->writable);
		json_u64(j, "zero", t->zero);
		json_u64(j, "huge", t->huge);
		json_u64(j, "not_present", t->absent);
		json_u64(j, "not_mirrorable", t->error);
	}
	json_array_begin(j, "notes");
	for (int i = 0; i < v->nnotes; i++)
		json_string(j, NULL, v->notes[i]);
	json_array_end(j);
	json_object_end(j);
}

static void text_mapping(const struct mapping *map, const struct tally *t,
			 const struct verdict *v)
{
	char a[SIZE_STR_MAX], b[SIZE_STR_MAX], c[SIZE_STR_MAX], d[SIZE_STR_MAX];
	bool skipped = !strcmp(v->mirrorable, "skipped");

	printf("0x%012" PRIx64 "-0x%012" PRIx64 " %s %10s %10s %10s %10s%s%s\n",
	       map->start, map->end, map->perms,
	       human_size(map->end - map->start, a),
	       skipped ? "-" : human_size(t->present, b),
	       skipped ? "-" : human_size(t->writable, c),
	       skipped ? "-" : human_size(t->huge, d),
	       map->path[0] ? "  " : "", map->path);
	for (int i = 0; i < v->nnotes; i++)
		printf("    %s\n", v->notes[i]);
}

int cmd_maps(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tally total = { 0 };
	struct mapping_list maps;
	struct hmm_mirror *m;
	bool json = false;
	int pid = 0, c, ret;
	struct json j;
	char a[SIZE_STR_MAX], b[SIZE_STR_MAX], cc[SIZE_STR_MAX], d[SIZE_STR_MAX];
	unsigned int skipped = 0, unmirrorable = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!parse_pid(optarg, &pid))
				return usage_error("bad pid '%s'", optarg);
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			help();
			return EXIT_OK;
		default:
			return option_error(argv, c);
		}
	}
	if (!pid)
		return usage_error("--pid PID is required");
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);

	ret = open_mirror(pid, HMM_MIRROR_FEAT_SNAPSHOT, &m);
	if (ret)
		return ret;
	ret = read_mappings(pid, &maps);
	if (ret) {
		hmm_mirror_close(m);
		return fail_errno(EXIT_FAILED, ret,
				  "cannot read /proc/%d/maps: %s", pid,
				  hmm_mirror_strerror(ret));
	}

	if (json) {
		json_init(&j, stdout, true);
		json_object_begin(&j, NULL);
		json_i64(&j, "pid", pid);
		json_u64(&j, "page_size", hmm_mirror_page_size(m));
		json_array_begin(&j, "mappings");
	} else {
		printf("pid %d: %zu %s%s\n", pid, maps.n,
		       plural(maps.n, "mapping", "mappings"),
		       maps.have_smaps ? "" : " (no /proc/PID/smaps: VM flags unknown)");
		printf("%-29s %-4s %10s %10s %10s %10s  %s\n", "RANGE", "PERM",
		       "SIZE", "PRESENT", "WRITABLE", "HUGE", "MAPPING");
	}
	for (size_t i = 0; i < maps.n && !ret; i++) {
		struct tally t;
		struct verdict v;

		ret = analyse(m, &maps.v[i], &t, &v);
		if (ret)
			break;
		total.present += t.present;
		total.writable += t.writable;
		total.zero += t.zero;
		total.huge += t.huge;
		total.error += t.error;
		total.absent += t.absent;
		skipped += !strcmp(v.mirrorable, "skipped");
		unmirrorable += !strcmp(v.mirrorable, "no") || !strcmp(v.mirrorable, "partly");
		if (json)
			json_mapping(&j, &maps.v[i], &t, &v, maps.have_smaps);
		else
			text_mapping(&maps.v[i], &t, &v);
	}
	if (ret) {
		if (json)
			json_array_end(&j);
		ret = lib_fail_in(json ? &j : NULL, ret);
		if (json) {
			json_object_end(&j);
			json_finish(&j);
		}
	} else if (json) {
		json_array_end(&j);
		json_object_begin(&j, "totals");
		json_u64(&j, "mappings", maps.n);
		json_u64(&j, "present", total.present);
		json_u64(&j, "writable", total.writable);
		json_u64(&j, "zero", total.zero);
		json_u64(&j, "huge", total.huge);
		json_u64(&j, "not_present", total.absent);
		json_u64(&j, "not_mirrorable", total.error);
		json_u64(&j, "mappings_not_mirrorable", unmirrorable);
		json_u64(&j, "mappings_skipped", skipped);
		json_object_end(&j);
		json_object_end(&j);
		json_finish(&j);
	} else {
		printf("total: %s present, %s writable, %s in huge pages, %s not "
		       "mirrorable (%u %s), %u skipped\n",
		       human_size(total.present, a), human_size(total.writable, b),
		       human_size(total.huge, cc), human_size(total.error, d),
		       unmirrorable, plural(unmirrorable, "mapping", "mappings"),
		       skipped);
	}
	fflush(stdout);
	free_mappings(&maps);
	hmm_mirror_close(m);
	return ret;
}
