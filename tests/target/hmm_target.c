// SPDX-License-Identifier: MIT
/*
 * hmm_target.c - the scriptable target process of the tests: a process to
 * mirror that changes its memory on command.  The CLI tests
 * (tests/cli/vm/cli_test.py) and the Python tests (tests/python/scripted_target.py)
 * drive it; nothing here is shipped.
 *
 * One command a line on stdin, one answer a line on stdout: "ok", "ok
 * VALUE..." or "error ERRNO WHAT" (ERRNO 0: the command itself was bad).
 * Numbers are decimal or 0x hex; addresses are answered in hex.  Every
 * command has finished in the target when its answer is written, so the
 * invalidations it caused have reached a mirror by then.
 *
 *   ping                          ok PID
 *   mmap LENGTH PROT [OPTION...]  ok ADDR; PROT r, rw, rwx or none;
 *       options: shared, populate (MAP_POPULATE), hugetlb (MAP_HUGETLB),
 *       hugepage / nohugepage (MADV_*), guard (a PROT_NONE page either
 *       side, so the mapping stays its own VMA), fill=BYTE (memset),
 *       offset=N, path=FILE (the rest of the line: a file mapping)
 *   munmap ADDR LENGTH
 *   mprotect ADDR LENGTH PROT
 *   madvise ADDR LENGTH dontneed|hugepage|nohugepage
 *   fill ADDR LENGTH BYTE         memset
 *   read ADDR LENGTH              read one byte of every page (faults)
 *   poke ADDR HEX                 write bytes
 *   peek ADDR LENGTH              ok HEX
 *   fork                          ok PID: a child that only waits, keeping
 *                                 copy-on-write alive, until end_forks
 *   end_forks                     ok PID...: end and reap them
 *   exit [STATUS]                 ok, then exit (end of input: exit 0)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FORKS 64

static size_t page;
static pid_t forks[MAX_FORKS];
static int fork_pipes[MAX_FORKS];
static int nforks;
static int exit_status;

/* A failed system call: its errno and what was asked. */
static int fail(const char *what)
{
	printf("error %d %s: %s\n", errno, what, strerror(errno));
	return 0;
}

static int bad(const char *what)
{
	printf("error 0 %s\n", what);
	return 0;
}

/* The next space-separated token of *@p, NUL-terminated in place. */
static char *token(char **p)
{
	char *t = *p + strspn(*p, " \t");

	if (!*t)
		return NULL;
	*p = t + strcspn(t, " \t");
	if (**p)
		*(*p)++ = '\0';
	return t;
}

static bool number(char **p, uint64_t *v)
{
	char *t = token(p), *e;

	if (!t)
		return false;
	errno = 0;
	*v = strtoull(t, &e, 0);
	return !errno && !*e;
}

static bool prot_of(const char *s, int *prot)
{
	if (!s)
		return false;
	if (!strcmp(s, "none")) {
		*prot = PROT_NONE;
		return true;
	}
	*prot = 0;
	for (; *s; s++) {
		if (*s == 'r')
			*prot |= PROT_READ;
		else if (*s == 'w')
			*prot |= PROT_WRITE;
		else if (*s == 'x')
			*prot |= PROT_EXEC;
		else if (*s != '-')
			return false;
	}
	return true;
}

static bool advice_of(const char *s, int *advice)
{
	if (!s)
		return false;
	if (!strcmp(s, "dontneed"))
		*advice = MADV_DONTNEED;
	else if (!strcmp(s, "hugepage"))
		*advice = MADV_HUGEPAGE;
	else if (!strcmp(s, "nohugepage"))
		*advice = MADV_NOHUGEPAGE;
	else
		return false;
	return true;
}

static int do_mmap(char *args)
{
	uint64_t length, fill = 0, offset = 0;
	bool guard = false, has_fill = false;
	int prot, flags = MAP_PRIVATE | MAP_ANONYMOUS, fd = -1, advice = 0;
	const char *path = NULL;
	uint8_t *p;
	char *opt;

	if (!number(&args, &length) || !length || !prot_of(token(&args), &prot))
		return bad("usage: mmap LENGTH PROT [OPTION...]");
	while ((opt = token(&args))) {
		if (!strcmp(opt, "shared"))
			flags = (flags & ~MAP_PRIVATE) | MAP_SHARED;
		else if (!strcmp(opt, "populate"))
			flags |= MAP_POPULATE;
		else if (!strcmp(opt, "hugetlb"))
			flags |= MAP_HUGETLB;
		else if (!strcmp(opt, "hugepage"))
			advice = MADV_HUGEPAGE;
		else if (!strcmp(opt, "nohugepage"))
			advice = MADV_NOHUGEPAGE;
		else if (!strcmp(opt, "guard"))
			guard = true;
		else if (!strncmp(opt, "fill=", 5))
			has_fill = true, fill = strtoull(opt + 5, NULL, 0);
		else if (!strncmp(opt, "offset=", 7))
			offset = strtoull(opt + 7, NULL, 0);
		else if (!strncmp(opt, "path=", 5)) {
			/* The path is the rest of the line, spaces and all. */
			path = opt + 5;
			if (*args)
				opt[strlen(opt)] = ' ';
			break;
		} else
			return bad("unknown mmap option");
	}
	if (path) {
		fd = open(path, ((flags & MAP_SHARED) && (prot & PROT_WRITE) ?
				 O_RDWR : O_RDONLY) | O_CLOEXEC);
		if (fd < 0)
			return fail(path);
		flags &= ~MAP_ANONYMOUS;
	}
	/* THP advice must come before the pages do. */
	bool populate_later = advice && (flags & MAP_POPULATE);

	if (populate_later)
		flags &= ~MAP_POPULATE;
	if (guard) {
		uint8_t *base = mmap(NULL, length + 2 * page, PROT_NONE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (base == MAP_FAILED) {
			if (fd >= 0)
				close(fd);
			return fail("mmap");
		}
		p = mmap(base + page, length, prot, flags | MAP_FIXED, fd, (off_t)offset);
		if (p == MAP_FAILED)
			munmap(base, length + 2 * page);
	} else {
		p = mmap(NULL, length, prot, flags, fd, (off_t)offset);
	}
	if (fd >= 0)
		close(fd);
	if (p == MAP_FAILED)
		return fail("mmap");
	if (advice && madvise(p, length, advice))
		return fail("madvise");
	if (populate_later && (prot & PROT_WRITE) && !has_fill)
		memset(p, 0, length);
	if (has_fill)
		memset(p, (int)fill, length);
	printf("ok 0x%" PRIxPTR "\n", (uintptr_t)p);
	return 0;
}

/* "ADDR LENGTH" of a range command. */
static bool range(char **args, uint8_t **addr, uint64_t *length)
{
	uint64_t a;

	if (!number(args, &a) || !number(args, length))
		return false;
	*addr = (uint8_t *)(uintptr_t)a;
	return true;
}

static int do_fork(void)
{
	int fds[2];
	pid_t pid;

	if (nforks == MAX_FORKS)
		return bad("too many forks");
	if (pipe(fds))
		return fail("pipe");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (!pid) {
		char c;

		/* Until end_forks, or the target's end, closes the pipe. */
		close(fds[1]);
		while (read(fds[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(fds[0]);
	forks[nforks] = pid;
	fork_pipes[nforks++] = fds[1];
	printf("ok %d\n", (int)pid);
	return 0;
}

static void end_forks(bool answer)
{
	if (answer)
		printf("ok");
	for (int i = 0; i < nforks; i++) {
		close(fork_pipes[i]);
		while (waitpid(forks[i], NULL, 0) < 0 && errno == EINTR)
			;
		if (answer)
			printf(" %d", (int)forks[i]);
	}
	if (answer)
		printf("\n");
	nforks = 0;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' :
	       c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* One command; 1 to exit. */
static int command(char *line)
{
	char *args, *op;
	uint8_t *addr;
	uint64_t len, v;
	int prot;

	line[strcspn(line, "\n")] = '\0';
	args = line;
	op = token(&args);
	if (!op)
		return bad("empty command");
	if (!strcmp(op, "ping"))
		return printf("ok %d\n", (int)getpid()), 0;
	if (!strcmp(op, "mmap"))
		return do_mmap(args);
	if (!strcmp(op, "fork"))
		return do_fork();
	if (!strcmp(op, "end_forks"))
		return end_forks(true), 0;
	if (!strcmp(op, "exit")) {
		if (number(&args, &v))
			exit_status = (int)v;
		return 1;
	}
	if (!strcmp(op, "poke")) {
		char *hex;
		size_t n;

		if (!number(&args, &v) || !(hex = token(&args)) || strlen(hex) % 2)
			return bad("usage: poke ADDR HEX");
		addr = (uint8_t *)(uintptr_t)v;
		n = strlen(hex) / 2;
		for (size_t i = 0; i < n; i++) {
			int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

			if (hi < 0 || lo < 0)
				return bad("poke: not hex");
			addr[i] = (uint8_t)(hi << 4 | lo);
		}
		return printf("ok\n"), 0;
	}
	if (!range(&args, &addr, &len))
		return bad("usage: COMMAND ADDR LENGTH ...");
	if (!strcmp(op, "munmap"))
		return munmap(addr, len) ? fail("munmap") : (printf("ok\n"), 0);
	if (!strcmp(op, "mprotect")) {
		if (!prot_of(token(&args), &prot))
			return bad("usage: mprotect ADDR LENGTH r|rw|rwx|none");
		return mprotect(addr, len, prot) ? fail("mprotect") : (printf("ok\n"), 0);
	}
	if (!strcmp(op, "madvise")) {
		int advice;

		if (!advice_of(token(&args), &advice))
			return bad("usage: madvise ADDR LENGTH dontneed|hugepage|nohugepage");
		return madvise(addr, len, advice) ? fail("madvise") : (printf("ok\n"), 0);
	}
	if (!strcmp(op, "fill")) {
		if (!number(&args, &v))
			return bad("usage: fill ADDR LENGTH BYTE");
		memset(addr, (int)v, len);
		return printf("ok\n"), 0;
	}
	if (!strcmp(op, "read")) {
		volatile uint8_t sink = 0;

		for (uint64_t off = 0; off < len; off += page)
			sink += addr[off];
		(void)sink;
		return printf("ok\n"), 0;
	}
	if (!strcmp(op, "peek")) {
		printf("ok ");
		for (uint64_t i = 0; i < len; i++)
			printf("%02x", addr[i]);
		return printf("\n"), 0;
	}
	return bad("unknown command");
}

int main(void)
{
	char *line = NULL;
	size_t size = 0;

	page = (size_t)sysconf(_SC_PAGESIZE);
	while (getline(&line, &size, stdin) > 0) {
		if (command(line))
			break;
		fflush(stdout);
	}
	/* The answer to exit comes once the forks are gone. */
	end_forks(false);
	printf("ok\n");
	fflush(stdout);
	free(line);
	return exit_status;
}
