"""Values from requests made safe to write into a log line.

A captured path is whatever a client sent, percent-decoded: it may hold a line break that
would start a forged log line, or terminal escapes. `printable` writes every character that
does not print (and the backslash, so the result reads back unambiguously) as an escape.
"""

_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def printable(value: object) -> str:
    """`value` as text, with line breaks, control and format characters written as escapes."""
    text = str(value)
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(_escaped(char) for char in text)


def _escaped(char: str) -> str:
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    if char.isprintable():
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
