// SPDX-License-Identifier: MIT
/*
 * cmd_info.c - `hmm-mirror info`: the module (ABI version, features,
 * commands, address limit) and what the running kernel offers a mirror
 * (THP, hugetlb, device-private memory).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "commands.h"
#include "common.h"
#include "format.h"
#include "json.h"
#include "sysinfo.h"

#ifndef HMM_MIRROR_VERSION
#define HMM_MIRROR_VERSION "unknown"
#endif

#define THP_DIR "/sys/kernel/mm/transparent_hugepage/"
#define MODULE_DIR "/sys/module/hmm_mirror/"

static const char *const config_names[] = {
	"CONFIG_DEVICE_PRIVATE", "CONFIG_ZONE_DEVICE", "CONFIG_HMM_MIRROR",
	"CONFIG_MMU_NOTIFIER", "CONFIG_TRANSPARENT_HUGEPAGE", "CONFIG_HUGETLBFS",
};
#define NCONFIG (sizeof(config_names) / sizeof(config_names[0]))

struct info {
	/* the module */
	bool opened;
	int open_errno;		/* negative */
	char open_error[1024];
	struct hmm_mirror_info hs;
	bool have_dm;		/* the module has device memory (ABI 4) */
	struct hmm_mirror_device_memory dm;
	bool have_evicted;	/* eviction (ABI 5): @evicted is known */
	uint64_t evicted;	/* pages evicted since load (global STATS) */
	bool loaded;
	char version[64], srcversion[64];
	/* the kernel */
	struct utsname uts;
	char thp_enabled[32], thp_defrag[32], thp_shmem[32];
	bool have_thp;
	struct hugetlb_pool pools[8];
	size_t npools;
	uint64_t huge_default_kb;
	const char *config_values[NCONFIG];
	const char *config_source;
};

static void help(void)
{
	printf("usage: %s [--json]\n"
	       "\n"
	       "Show the hmm_mirror module (ABI version, features by name, the\n"
	       "commands it has, the address limit of its device page table:\n"
	       "ranges past it are refused with EINVAL; its device memory, the\n"
	       "pool 'hmm-mirror migrate' moves pages into: size and use) and\n"
	       "what the running\n"
	       "kernel offers a mirror: the transparent huge page settings,\n"
	       "hugetlb page pools, and device-private memory\n"
	       "(CONFIG_DEVICE_PRIVATE, from /proc/config.gz or\n"
	       "/boot/config-RELEASE; \"unknown\" when neither exists).\n"
	       "The kernel part is shown even when the module cannot be opened.\n"
	       "\n"
	       "  --json     one JSON document (with \"error\" when the module\n"
	       "             cannot be opened)\n"
	       "  --help     this text\n"
	       "\n" EXIT_CODES_HELP, prog);
}

static void gather(struct info *in)
{
	struct hmm_mirror *m = NULL;
	int ret;

	memset(in, 0, sizeof(*in));
	hmm_mirror_info_init(&in->hs);
	ret = hmm_mirror_open(&m);
	if (ret)
		open_error_message(ret, in->open_error, sizeof(in->open_error));
	if (!ret) {
		ret = hmm_mirror_handshake(m, &in->hs);
		if (ret)
			snprintf(in->open_error, sizeof(in->open_error), "%s",
				 hmm_mirror_last_error());
	}
	in->open_errno = ret;
	in->opened = !ret;
	hmm_mirror_device_memory_init(&in->dm);
	if (!ret && (in->hs.features & HMM_MIRROR_FEAT_DEVICE_MEMORY))
		in->have_dm = hmm_mirror_device_memory(m, &in->dm) == 0;
	if (in->have_dm && (in->hs.features & HMM_MIRROR_FEAT_DEVICE_EVICT)) {
		struct hmm_mirror_stats g;

		hmm_mirror_counters_init(&g);
		in->have_evicted = hmm_mirror_stats_global(m, &g) == 0;
		in->evicted = g.pages_evicted;
	}
	hmm_mirror_close(m);

	in->loaded = access(MODULE_DIR "initstate", F_OK) == 0;
	if (!read_line(MODULE_DIR "version", in->version, sizeof(in->version)))
		in->version[0] = 0;
	if (!read_line(MODULE_DIR "srcversion", in->srcversion, sizeof(in->srcversion)))
		in->srcversion[0] = 0;

	uname(&in->uts);
	in->have_thp = sysfs_choice(THP_DIR "enabled", in->thp_enabled,
				    sizeof(in->thp_enabled));
	if (!sysfs_choice(THP_DIR "defrag", in->thp_defrag, sizeof(in->thp_defrag)))
		strcpy(in->thp_defrag, "unknown");
	if (!sysfs_choice(THP_DIR "shmem_enabled", in->thp_shmem, sizeof(in->thp_shmem)))
		strcpy(in->thp_shmem, "unknown");
	in->npools = hugetlb_pools(in->pools, 8);
	in->huge_default_kb = hugetlb_default_kb();
	in->config_source = kernel_config(config_names, in->config_values, NCONFIG);
}

/* The document; returns the exit status (its "error" says why not 0). */
static int print_json(const struct info *in)
{
	int ret = EXIT_OK;
	struct json j;

	json_init(&j, stdout, true);
	json_object_begin(&j, NULL);

	json_object_begin(&j, "tool");
	json_string(&j, "version", HMM_MIRROR_VERSION);
	json_string(&j, "library", hmm_mirror_lib_version());
	json_u64(&j, "abi_version", HMM_MIRROR_ABI_VERSION);
	json_object_end(&j);

	json_object_begin(&j, "module");
	json_string(&j, "device", HMM_MIRROR_DEVICE_PATH);
	json_bool(&j, "available", in->opened);
	json_string(&j, "error", in->opened ? NULL : in->open_error);
	json_bool(&j, "loaded", in->loaded);
	json_string(&j, "version", in->version[0] ? in->version : NULL);
	json_string(&j, "srcversion", in->srcversion[0] ? in->srcversion : NULL);
	if (in->opened) {
		json_u64(&j, "abi_version", in->hs.abi_version);
		json_u64(&j, "page_size", (uint64_t)1 << in->hs.page_shift);
		if (in->hs.addr_limit)
			json_u64(&j, "addr_limit", in->hs.addr_limit);
		else
			json_null(&j, "addr_limit");
		if (in->have_dm) {
			json_object_begin(&j, "device_memory");
			json_u64(&j, "total_bytes", in->dm.total_bytes);
			json_u64(&j, "used_bytes", in->dm.used_bytes);
			if (in->have_evicted)
				json_u64(&j, "pages_evicted", in->evicted);
			else
				json_null(&j, "pages_evicted");
			json_object_end(&j);
		} else {
			json_null(&j, "device_memory");
		}
		json_hex(&j, "features_mask", in->hs.features);
		json_array_begin(&j, "features");
		for (unsigned int b = 0; b < 64; b++)
			if (in->hs.features & (1ULL << b)) {
				const char *n = hmm_mirror_feature_name(1ULL << b);
				char unknown[24];

				snprintf(unknown, sizeof(unknown), "bit%u", b);
				json_string(&j, NULL, n ? n : unknown);
			}
		json_array_end(&j);
		json_array_begin(&j, "missing_features");
		for (unsigned int b = 0; b < 64; b++) {
			const char *n = hmm_mirror_feature_name(1ULL << b);

			if (n && !(in->hs.features & (1ULL << b)))
				json_string(&j, NULL, n);
		}
		json_array_end(&j);
		json_array_begin(&j, "ioctls");
		for (unsigned int nr = 0; nr < 64; nr++)
			if (in->hs.ioctls & (1ULL << nr)) {
				const char *n = hmm_mirror_command_name(nr);
				char unknown[24];

				snprintf(unknown, sizeof(unknown), "nr%u", nr);
				json_string(&j, NULL, n ? n : unknown);
			}
		json_array_end(&j);
	}
	json_object_end(&j);

	json_object_begin(&j, "kernel");
	json_string(&j, "release", in->uts.release);
	if (in->have_thp) {
		json_object_begin(&j, "thp");
		json_string(&j, "enabled", in->thp_enabled);
		json_string(&j, "defrag", in->thp_defrag);
		json_string(&j, "shmem_enabled", in->thp_shmem);
		json_object_end(&j);
	} else {
		json_null(&j, "thp");
	}
	json_object_begin(&j, "hugetlb");
	json_u64(&j, "default_page_kb", in->huge_default_kb);
	json_array_begin(&j, "pools");
	for (size_t i = 0; i < in->npools; i++) {
		json_object_begin(&j, NULL);
		json_u64(&j, "page_kb", in->pools[i].page_kb);
		json_u64(&j, "total", in->pools[i].total);
		json_u64(&j, "free", in->pools[i].free);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_string(&j, "device_private", in->config_values[0]);
	json_string(&j, "config_source", in->config_source);
	json_object_begin(&j, "config");
	for (size_t i = 0; i < NCONFIG; i++)
		json_string(&j, config_names[i], in->config_values[i]);
	json_object_end(&j);
	json_object_end(&j);

	if (!in->opened)
		ret = fail_in(&j, EXIT_UNAVAILABLE, in->open_errno, "%s",
			      in->open_error);
	json_object_end(&j);
	json_finish(&j);
	return ret;
}

static const char *config_meaning(const char *v)
{
	if (!strcmp(v, "y"))
		return "yes";
	if (!strcmp(v, "m"))
		return "yes (module)";
	if (!strcmp(v, "n"))
		return "no";
	return "unknown (no /proc/config.gz or /boot/config-RELEASE)";
}

static void print_text(const struct info *in)
{
	struct stat st;

	printf("hmm-mirror %s, libhmm_mirror %s (speaks ABI version %d)\n\n",
	       HMM_MIRROR_VERSION, hmm_mirror_lib_version(), HMM_MIRROR_ABI_VERSION);
	printf("module\n");
	if (stat(HMM_MIRROR_DEVICE_PATH, &st) == 0)
		printf("  device          %s (mode %04o, uid %u, gid %u)\n",
		       HMM_MIRROR_DEVICE_PATH, st.st_mode & 07777, st.st_uid, st.st_gid);
	else
		printf("  device          %s does not exist\n", HMM_MIRROR_DEVICE_PATH);
	printf("  loaded          %s", in->loaded ? "yes" : "no");
	if (in->version[0])
		printf(", version %s", in->version);
	if (in->srcversion[0])
		printf(", srcversion %s", in->srcversion);
	printf("\n");
	if (!in->opened) {
		printf("  unavailable     %s\n", in->open_error);
	} else {
		unsigned int known = 0, have = 0;
		char size[SIZE_STR_MAX];

		printf("  ABI version     %u\n", in->hs.abi_version);
		printf("  page size       %" PRIu64 "\n", (uint64_t)1 << in->hs.page_shift);
		if (in->hs.addr_limit)
			printf("  address limit   0x%" PRIx64 " (%s): ranges past it are EINVAL\n",
			       in->hs.addr_limit, human_size(in->hs.addr_limit, size));
		else
			printf("  address limit   not reported (a module of ABI version %u)\n",
			       in->hs.abi_version);
		if (in->have_dm) {
			char used[SIZE_STR_MAX];

			printf("  device memory   %s, %s used",
			       human_size(in->dm.total_bytes, size),
			       human_size(in->dm.used_bytes, used));
			if (in->have_evicted)
				printf(", %" PRIu64 " %s evicted since load",
				       in->evicted, plural(in->evicted, "page", "pages"));
			printf("\n");
		} else {
			printf("  device memory   none (%s)\n",
			       in->hs.abi_version < 4 ? "a module of ABI version < 4" :
			       "no CONFIG_DEVICE_PRIVATE, or device_memory_mb=0");
		}
		printf("  features       ");
		for (unsigned int b = 0; b < 64; b++) {
			const char *n = hmm_mirror_feature_name(1ULL << b);

			known += n != NULL;
			if (!(in->hs.features & (1ULL << b)))
				continue;
			have += n != NULL;
			if (n)
				printf(" %s", n);
			else
				printf(" bit%u", b);
		}
		printf("\n");
		if (have < known) {
			printf("  not supported  ");
			for (unsigned int b = 0; b < 64; b++) {
				const char *n = hmm_mirror_feature_name(1ULL << b);

				if (n && !(in->hs.features & (1ULL << b)))
					printf(" %s", n);
			}
			printf("\n");
		}
		printf("  commands       ");
		for (unsigned int nr = 0; nr < 64; nr++)
			if (in->hs.ioctls & (1ULL << nr)) {
				const char *n = hmm_mirror_command_name(nr);

				if (n)
					printf(" %s", n);
				else
					printf(" nr%u", nr);
			}
		printf("\n");
	}

	printf("\nkernel\n");
	printf("  release         %s\n", in->uts.release);
	if (in->have_thp)
		printf("  THP             enabled %s, defrag %s, shmem %s\n",
		       in->thp_enabled, in->thp_defrag, in->thp_shmem);
	else
		printf("  THP             not available (no %s)\n", THP_DIR);
	printf("  hugetlb         ");
	if (!in->npools)
		printf("not available");
	for (size_t i = 0; i < in->npools; i++)
		printf("%s%" PRIu64 " kB pages: %" PRIu64 " total, %" PRIu64 " free%s",
		       i ? "; " : "", in->pools[i].page_kb, in->pools[i].total,
		       in->pools[i].free,
		       in->pools[i].page_kb == in->huge_default_kb ? " (default)" : "");
	printf("\n");
	printf("  device-private  %s\n", config_meaning(in->config_values[0]));
	if (in->config_source) {
		printf("  config          %s:", in->config_source);
		for (size_t i = 0; i < NCONFIG; i++)
			printf(" %s=%s", config_names[i] + 7, in->config_values[i]);
		printf("\n");
	}
}

int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	struct info in;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		switch (c) {
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
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	gather(&in);
	if (json)
		return print_json(&in);
	print_text(&in);
	if (!in.opened)
		return fail_errno(EXIT_UNAVAILABLE, in.open_errno, "%s",
				  in.open_error);
	return EXIT_OK;
}
