#!/usr/bin/env python3
"""Turns a header's plain // comments into Doxygen comments where they document something.

- The opening comment (before #pragma once) becomes `/// @file` text; its indented example
  becomes a `@code` block.
- A run of // lines directly above a declaration outside function bodies becomes ///.
- A trailing // comment on a member, enumerator or declaration becomes ///<.
Comments inside function bodies, and section comments followed by a blank line, stay //.
Already converted lines are left alone, so the script may run again.

    python3 scripts/dev/doxygen_comments.py FILE.h...
"""
import re
import sys

TYPE_SCOPE = re.compile(r'\b(namespace|class|struct|union|enum)\b[^;()]*\{|^\s*(public|private|protected)\s*:|extern\s+"C"\s*\{')


def code_part(line):
    """The line split into its code and its trailing // comment (none inside literals)."""
    out, i, quote = [], 0, None
    while i < len(line):
        c = line[i]
        if quote:
            out.append(line[i:i + 2] if c == '\\' else c)
            if c == '\\':
                i += 2
                continue
            if c == quote:
                quote = None
            i += 1
            continue
        if c == '"' or (c == "'" and not (i > 0 and line[i - 1].isalnum())):  # not 1'000
            quote = c
            out.append(c)
            i += 1
            continue
        if line.startswith('//', i):
            return ''.join(out), line[i:]
        out.append(c)
        i += 1
    return ''.join(out), ''


def convert_opening(lines):
    """Lines of the opening comment -> Doxygen file comment with @code around examples."""
    out = ['/// @file']
    in_code = False
    for line in lines:
        text = line[2:] if line.startswith('//') else line
        if text.startswith('/'):  # already ///
            return lines
        is_code = text.startswith('   ') and text.strip() != ''
        if is_code and not in_code:
            out.append('/// @code')
            in_code = True
        if not is_code and in_code:  # a blank or a text line ends the example
            out.append('/// @endcode')
            in_code = False
        if in_code:
            out.append('/// ' + text[3:])
        else:
            out.append('///' + text)
    if in_code:
        out.append('/// @endcode')
    return out


def convert(source):
    lines = source.split('\n')
    if lines and lines[0].startswith('//') and not lines[0].startswith('///'):
        end = 0
        while end < len(lines) and lines[end].startswith('//'):
            end += 1
        lines = convert_opening(lines[:end]) + lines[end:]
    # Scope stack: True for a type/namespace scope, False for a function body or initializer.
    stack = [True]
    pending = []  # indexes of a run of // lines waiting for what follows
    result = list(lines)
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith('///') or stripped.startswith('//!'):
            pending = []
            continue
        if stripped.startswith('//'):
            if stack[-1]:
                pending.append(index)
            continue
        if stripped == '' or stripped.startswith('#') or stripped.startswith('}'):
            pending = []
        code, trailing = code_part(line)
        in_type_scope = stack[-1]
        if pending and in_type_scope and stripped and not stripped.startswith('#') and not stripped.startswith('}'):
            for i in pending:
                result[i] = re.sub(r'^(\s*)//', r'\1///', lines[i], count=1)
        pending = []
        if trailing and in_type_scope and not trailing.startswith('///') and code.strip() \
                and not code.strip().startswith('#') and code.strip() not in ('{', '}', '};'):
            result[index] = code + '///<' + trailing[2:]
        # Update the scope stack from this line's braces.
        opens_type = bool(TYPE_SCOPE.search(code)) and '{' in code
        for c in re.sub(r'"(\\.|[^"\\])*"|\'(\\.|[^\'\\])*\'', '', code):
            if c == '{':
                stack.append(opens_type and in_type_scope)
                opens_type = False
            elif c == '}':
                if len(stack) > 1:
                    stack.pop()
    return '\n'.join(result)


if __name__ == '__main__':
    for path in sys.argv[1:]:
        with open(path) as f:
            text = f.read()
        converted = convert(text)
        if converted != text:
            with open(path, 'w') as f:
                f.write(converted)
