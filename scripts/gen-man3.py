#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gen-man3.py: the section 3 man pages of libhmm_mirror, made from the
comments of its header so that they cannot drift from it.

    gen-man3.py HEADER VERSION OUTDIR   write OUTDIR/libhmm_mirror.3 and
                                        one NAME.3 per public function
    gen-man3.py --list HEADER           print the page names, one a line

The header's conventions (bindings/c/include/hmm_mirror/libhmm_mirror.h):

  /**
   * name() - one-line summary, which may go on for a line or two
   * @param: what it is
   *	continued on lines that start with a tab
   *
   * Paragraphs of description.
   *
   * Return: what it returns.
   */
  int name(...);

A "/** name() - text */" one-liner is a whole page's text.  A struct with
a /** struct name - ... @member: ... */ comment (or a plain comment right
above it) is shown on the pages of the functions that take it, and on the
page of its static inline NAME_init().  "/* ---- ... Title */" lines group
the functions in libhmm_mirror(3).

It fails (status 1) on a function declared without a doc comment, on a
doc comment whose name is not the function below it, and on an inline
function it does not know how to document, so a new function cannot ship
without its page.

Why a script and not a packaged tool: Debian's kernel-doc (in
linux-headers-*-common) reads this comment style, but writes section 9
"Kernel Hacker's Manual" pages, all functions in one stream, without the
#include and link lines, struct definitions or SEE ALSO a library page
needs; doxygen's man output needs Doxygen markup and makes one page per
header, not per function.
"""
import os
import re
import sys
import time

SECTION_RE = re.compile(r'/\* -{8,}\n \* (.+?)\n \*/')
DOC_RE = re.compile(r'/\*\*(.*?)\*/', re.S)
PLAIN_RE = re.compile(r'/\*(?!\*)(.*?)\*/', re.S)
FUNC_RE = re.compile(r'^(?:static inline\s+)?[\w\s\*]*?\b(hmm_mirror_\w+)\s*\(', re.S)
STRUCT_RE = re.compile(r'^struct\s+(\w+)\s*\{', re.S)


def fail(msg):
    sys.stderr.write('gen-man3: ' + msg + '\n')
    sys.exit(1)


def comment_lines(body):
    """The text of a comment, without the leading ' * '."""
    out = []
    for line in body.split('\n'):
        if line.strip().startswith('*'):
            line = re.sub(r'^\s*\*( |(?=\t)|$)', '', line)
        else:
            line = line.strip()
        out.append(line.rstrip())
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return out


def parse_doc(lines):
    """kernel-doc text -> (name, summary, params, paragraphs, ret)."""
    first = lines[0].strip()
    m = re.match(r'(?:struct\s+)?(\w+)(?:\(\))?\s+-\s+(.*)', first)
    if not m:
        return None
    name, summary = m.group(1), [m.group(2)]
    i = 1
    # The summary goes on until a blank line or an "@param:" line.
    while i < len(lines) and lines[i].strip() and not re.match(r'@\w+:', lines[i]):
        summary.append(lines[i].strip())
        i += 1
    params = []
    while i < len(lines) and re.match(r'@\w+:', lines[i]):
        pm = re.match(r'@(\w+):\s*(.*)', lines[i])
        text = [pm.group(2)]
        i += 1
        while i < len(lines) and lines[i].startswith('\t'):
            text.append(lines[i].strip())
            i += 1
        params.append((pm.group(1), ' '.join(text)))
    paras, ret, cur = [], None, []
    for line in lines[i:]:
        if line.startswith('Return:'):
            if cur:
                paras.append(cur)
            cur = [line[len('Return:'):].strip()]
            ret = cur
            continue
        if not line.strip():
            if cur and cur is not ret:
                paras.append(cur)
                cur = []
            continue
        cur.append(line.strip())
    if cur and cur is not ret:
        paras.append(cur)
    return {
        'name': name,
        'summary': ' '.join(summary),
        'params': params,
        'paras': [' '.join(p) for p in paras],
        'ret': ' '.join(ret) if ret else None,
    }


def declaration(text, pos):
    """The declaration starting at pos: up to ';' (prototype) or the
    closing brace (struct or inline function)."""
    rest = text[pos:]
    m = STRUCT_RE.match(rest)
    if m:
        end = rest.index('};') + 2
        return rest[:end]
    brace, semi = rest.find('{'), rest.find(';')
    if brace != -1 and (semi == -1 or brace < semi):
        return rest[:rest.index('\n}', brace) + 2]
    return rest[:semi + 1]


def statements(text):
    """(position, text) of each top-level declaration, comments and
    preprocessor lines left out."""
    def blank(m):
        return re.sub(r'[^\n]', ' ', m.group(0))
    code = re.sub(r'/\*.*?\*/', blank, text, flags=re.S)
    code = re.sub(r'^#ifdef __cplusplus\n.*?^#endif', blank, code, flags=re.S | re.M)
    code = re.sub(r'^#(?:.*\\\n)*.*$', blank, code, flags=re.M)
    depth, start = 0, 0
    for i, ch in enumerate(code):
        if ch == '{':
            depth += 1
        elif ch == '}':
            depth -= 1
        if depth == 0 and ch in ';}':
            stmt = code[start:i + 1]
            lead = len(stmt) - len(stmt.lstrip())
            if stmt.strip() and stmt.strip() != '}':
                yield start + lead, text[start + lead:i + 1]
            start = i + 1


def parse(path):
    text = open(path, encoding='utf-8').read()
    items, sections = [], []
    # Every comment and what follows it.
    comments = []
    for m in re.finditer(r'/\*.*?\*/', text, re.S):
        comments.append(m)
    intro = None
    for idx, m in enumerate(comments):
        c = m.group(0)
        sm = SECTION_RE.fullmatch(c)
        if sm:
            sections.append((m.start(), sm.group(1).strip()))
            continue
        if intro is None and 'SPDX' not in c:
            intro = comment_lines(c[2:-2])
        after = text[m.end():].lstrip('\n')
        pos = len(text) - len(after)
        nxt = comments[idx + 1].start() if idx + 1 < len(comments) else len(text)
        if pos >= nxt or not after or after[0] in '#/':
            continue
        decl = declaration(text, pos)
        is_doc = c.startswith('/**')
        sm = STRUCT_RE.match(decl)
        fm = FUNC_RE.match(decl)
        if sm:
            lines = comment_lines(c[3:-2] if is_doc else c[2:-2])
            doc = parse_doc(lines) if is_doc else None
            items.append({'kind': 'struct', 'name': sm.group(1), 'decl': decl,
                          'doc': doc, 'plain': None if is_doc else ' '.join(lines),
                          'pos': pos})
        elif fm and is_doc:
            doc = parse_doc(comment_lines(c[3:-2]))
            if not doc or doc['name'] != fm.group(1):
                fail('%s: the comment above %s() names %s' %
                     (path, fm.group(1), doc and doc['name']))
            items.append({'kind': 'func', 'name': fm.group(1), 'decl': decl,
                          'doc': doc, 'pos': pos})
    # Every function the header declares must have been documented above,
    # except the static inline NAME_init() of a documented struct.
    documented = {i['name'] for i in items if i['kind'] == 'func'}
    structs = {i['name'] for i in items if i['kind'] == 'struct'}
    for pos, stmt in statements(text):
        fm = FUNC_RE.match(stmt)
        if not fm or fm.group(1) in documented:
            continue
        name = fm.group(1)
        if stmt.startswith('static inline') and name.endswith('_init') and \
                name[:-len('_init')] in structs:
            items.append({'kind': 'init', 'name': name, 'struct': name[:-len('_init')],
                          'decl': stmt[:stmt.index('{')].rstrip() + ';', 'pos': pos})
            continue
        fail('%s: %s() has no /** %s() - ... */ comment' % (path, name, name))
    items.sort(key=lambda i: i['pos'])
    for it in items:
        it['section'] = ''
        for spos, title in sections:
            if spos < it['pos']:
                it['section'] = title
    return text, intro, items


# --- roff ------------------------------------------------------------------

def esc(s):
    s = s.replace('\\', '\\e')
    # A minus sign where a word starts with '-' (-EINVAL, -1).
    s = re.sub(r'(^|(?<=[\s(/]))-', r'\\-', s)
    return s


def inline(s, funcs, refs, structs=()):
    """Escape s; name() in bold and remembered for SEE ALSO, @arg in
    italics, struct NAME in bold."""
    s = esc(s)
    def func(m):
        name = m.group(1)
        if name in funcs:
            refs.add(name)
            return '\\fB%s\\fP(3)' % name
        return '\\fB%s\\fP()' % name
    s = re.sub(r'\b(hmm_mirror_\w+)\(\)', func, s)
    s = re.sub(r'(?<![\\\w])([a-z]\w*)\(([23])\)', r'\\fB\1\\fP(\2)', s)
    s = re.sub(r'@(\w+)((?:->\w+)?)', r'\\fI\1\2\\fP', s)
    s = re.sub(r'\bstruct (hmm_mirror_\w+)', r'\\fBstruct \1\\fP', s)
    return s


def line(s):
    return '\\&' + s if s.startswith(('.', "'")) else s


def code(decl):
    out = ['.nf', '.RS 4']
    for l in decl.expandtabs(8).split('\n'):
        out.append(line(esc(l)))
    out += ['.RE', '.fi']
    return out


def header(name, version, date):
    return ['.\\" Generated by scripts/gen-man3.py from libhmm_mirror.h: do not edit.',
            '.TH %s 3 "%s" "libhmm_mirror %s" "libhmm_mirror Manual"' %
            (name.upper(), date, version),
            '.nh', '.nr HY 0']


LIBRARY = ['.SH LIBRARY',
           'libhmm_mirror (\\fI\\-lhmm_mirror\\fP;',
           '\\fIpkg\\-config \\-\\-cflags \\-\\-libs libhmm_mirror\\fP)']
INCLUDE = '.B #include <hmm_mirror/libhmm_mirror.h>'


def struct_text(st, funcs, refs):
    """The definition of a struct and the words on its members."""
    out = ['.PP', 'The structure:', '.PP'] + code(st['decl'])
    if st['doc']:
        if st['doc']['summary']:
            out += ['.PP', inline(st['doc']['summary'], funcs, refs).capitalize()[:1] +
                    inline(st['doc']['summary'], funcs, refs)[1:] + '.']
        for p, t in st['doc']['params']:
            out += ['.TP', '.I ' + p, inline(t, funcs, refs)]
    elif st['plain']:
        out += ['.PP', inline(st['plain'], funcs, refs)]
    init = st['name'] + '_init'
    if init in funcs:
        refs.add(init)
        out += ['.PP', 'Initialise it with \\fB%s\\fP(3) before passing it in.' % init]
    return out


def func_page(it, items, funcs, version, date):
    doc = it['doc']
    refs = set()
    out = header(it['name'], version, date)
    out += ['.SH NAME', '%s \\- %s' % (it['name'], inline(doc['summary'], funcs, set()))]
    out += LIBRARY
    out += ['.SH SYNOPSIS', '.nf', INCLUDE, '.fi', '.PP'] + code(it['decl'])
    out += ['.SH DESCRIPTION']
    if doc['params']:
        for p, t in doc['params']:
            out += ['.TP', '.I ' + p, inline(t, funcs, refs)]
        out += ['.PP']
    for p in doc['paras']:
        out += [inline(p, funcs, refs), '.PP']
    used = [s for s in items if s['kind'] == 'struct' and
            re.search(r'\bstruct %s\b' % s['name'], it['decl'])]
    for st in used:
        out += struct_text(st, funcs, refs)
    if not doc['paras'] and not doc['params'] and not used:
        out += [inline(doc['summary'], funcs, refs) + '.']
    if out[-1] == '.PP':
        out.pop()
    if doc['ret']:
        out += ['.SH RETURN VALUE', inline(doc['ret'], funcs, refs)]
    if it['decl'].startswith('int '):
        refs.add('hmm_mirror_last_error')
    out += see_also(it['name'], refs)
    return out


def init_page(it, items, funcs, version, date):
    st = next(s for s in items if s['kind'] == 'struct' and s['name'] == it['struct'])
    refs = set()
    users = [f['name'] for f in items if f['kind'] == 'func' and
             re.search(r'\bstruct %s\b' % st['name'], f['decl'])]
    out = header(it['name'], version, date)
    out += ['.SH NAME', '%s \\- set up a struct %s before use' % (it['name'], st['name'])]
    out += LIBRARY
    out += ['.SH SYNOPSIS', '.nf', INCLUDE, '.fi', '.PP'] + code(it['decl'])
    out += ['.SH DESCRIPTION',
            'Zeroes \\fI*%s\\fP and sets its \\fIsize\\fP to the size this header' %
            re.search(r'\*(\w+)\)', it['decl']).group(1),
            'declares.  The library fills at most \\fIsize\\fP bytes, so a program',
            'built against this header keeps working with a newer library.',
            'It is a static inline function of the header, not a symbol of the library.']
    out += struct_text(dict(st, name=st['name']), set(), refs)
    refs.update(users)
    refs.discard(it['name'])
    out += see_also(it['name'], refs)
    return out


def see_also(name, refs):
    names = sorted(r for r in refs if r != name)
    out = ['.SH SEE ALSO']
    out.append(',\n'.join(['.BR %s (3)' % r for r in names + ['libhmm_mirror']]))
    return out


def overview(intro, items, funcs, version, date, text):
    refs = set()
    out = header('libhmm_mirror', version, date)
    out += ['.SH NAME', 'libhmm_mirror \\- the C library for /dev/hmm_mirror']
    out += LIBRARY
    out += ['.SH SYNOPSIS', '.nf', INCLUDE, '.PP',
            'cc prog.c $(pkg\\-config \\-\\-cflags \\-\\-libs libhmm_mirror)', '.fi']
    out += ['.SH DESCRIPTION']
    # The header's opening comment: its paragraphs, and its "- " list.
    body = intro[1:] if intro and ' - ' in intro[0] else intro or []
    para, bullet = [], False
    def flush():
        if para:
            out.extend(['.IP \\(bu 2' if bullet else '.PP', inline(' '.join(para), funcs, refs)])
    for l in body:
        s = l.strip()
        if not s:
            flush()
            para, bullet = [], False
        elif s.startswith('- '):
            flush()
            para, bullet = [s[2:]], True
        else:
            para.append(s)
    flush()
    out += ['.SH FUNCTIONS']
    section = None
    for it in items:
        if it['kind'] not in ('func', 'init'):
            continue
        if it['section'] != section:
            section = it['section']
            out += ['.SS ' + esc(section)]
        summary = it['doc']['summary'] if it['kind'] == 'func' else \
            'set up a struct %s before use' % it['struct']
        out += ['.TP', '.BR %s (3)' % it['name'], inline(summary, funcs, set())]
    # The feature bits and event reasons, with their comments.
    out += ['.SH CONSTANTS', 'Feature bits (\\fBhmm_mirror_features\\fP(3)):', '.PP', '.nf', '.RS 4']
    for m in re.finditer(r'^#define (HMM_MIRROR_FEAT_\w+)[ \t]+(.*)$', text, re.M):
        out.append('%-32s %s' % (m.group(1), esc(m.group(2))))
    out += ['.RE', '.fi', '.PP', 'Event reasons (\\fBhmm_mirror_event_next\\fP(3)):', '.PP', '.nf', '.RS 4']
    for m in re.finditer(r'^#define (HMM_MIRROR_EVENT_[A-Z_]+)[ \t]+(\d+)[ \t]*(?:/\* (.*) \*/)?$', text, re.M):
        out.append(line(esc('%-28s %-2s %s' % (m.group(1), m.group(2), m.group(3) or ''))).rstrip())
    out += ['.RE', '.fi']
    out += ['.SH FILES', '.TP', '.I /dev/hmm_mirror',
            'the device of hmm_mirror.ko',
            '.TP', '.I <hmm_mirror/hmm_mirror.h>',
            'the kernel ABI (ioctl numbers and structs), for programs that do not use the library']
    out += ['.SH SEE ALSO', '.BR hmm\\-mirror (1)']
    return out


def main(argv):
    if len(argv) == 3 and argv[1] == '--list':
        _, _, items = parse(argv[2])
        print('libhmm_mirror')
        for it in items:
            if it['kind'] in ('func', 'init'):
                print(it['name'])
        return 0
    if len(argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    path, version, outdir = argv[1:]
    text, intro, items = parse(path)
    funcs = {i['name'] for i in items if i['kind'] in ('func', 'init')}
    epoch = int(os.environ.get('SOURCE_DATE_EPOCH', os.stat(path).st_mtime))
    date = time.strftime('%Y-%m-%d', time.gmtime(epoch))
    os.makedirs(outdir, exist_ok=True)
    pages = {'libhmm_mirror': overview(intro, items, funcs, version, date, text)}
    for it in items:
        if it['kind'] == 'func':
            pages[it['name']] = func_page(it, items, funcs, version, date)
        elif it['kind'] == 'init':
            pages[it['name']] = init_page(it, items, funcs, version, date)
    for name, lines in pages.items():
        with open(os.path.join(outdir, name + '.3'), 'w', encoding='utf-8') as f:
            f.write('\n'.join(lines) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
