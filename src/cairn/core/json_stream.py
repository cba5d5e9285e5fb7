"""A pull parser for the outer levels of a large JSON document (a VICS hash set, a Telegram
export).

National sets and chat exports hold hundreds of thousands of records, so the document is never
loaded whole: `JsonStream` walks the outer structure itself and hands each record to the C decoder
(`json.JSONDecoder.raw_decode`) over a sliding buffer, so memory is one buffer chunk plus one
record whatever the file size.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Final, TextIO

CHUNK_CHARS: Final = 1 << 20
# Longer than any JSON token but a string (a literal, a \uXXXX escape, a number in practice).
_LONGEST_TOKEN: Final = 64
# A Media object larger than this is treated as damage, which bounds memory on a file whose
# quotes or brackets are broken (real records are a few KiB).
MAX_RECORD_CHARS: Final = 16 << 20


class Damaged(Exception):
    """The document's structure is broken past recovery here (truncated, unbalanced quotes)."""


_WS = re.compile(r"[ \t\r\n]*")
_STRUCTURE = re.compile(r'["{}\[\],]')
_STRING_STOP = re.compile(r'["\\]')


class JsonStream:
    """A pull parser for the outer levels of a large JSON document.

    It walks objects and arrays itself and decodes leaf values (a whole Media object) with the
    C decoder over a sliding buffer. A value the decoder rejects is retried with more data, in
    case it only ran past the buffer's end; rejected again, it is malformed, and `skip_value`
    finds its end by bracket and string structure alone, so that the next record can be read.
    """

    def __init__(self, file: TextIO) -> None:
        self._file = file
        self._decode = json.JSONDecoder().raw_decode
        self.buf = ""
        self.pos = 0
        self._eof = False
        self._line = 1  # line number at buf[_line_pos]
        self._line_pos = 0

    def line(self) -> int:
        """The line of the current position (counted incrementally: positions only advance)."""
        self._line += self.buf.count("\n", self._line_pos, self.pos)
        self._line_pos = self.pos
        return self._line

    def _fill(self) -> bool:
        chunk = self._file.read(CHUNK_CHARS)
        if not chunk:
            self._eof = True
            return False
        if self.pos:
            self.line()
            self.buf = self.buf[self.pos :]
            self.pos = self._line_pos = 0
        self.buf += chunk
        return True

    def peek(self) -> str:
        """The next character that is not white space, without consuming it; "" at the end."""
        if self.pos < len(self.buf) and self.buf[self.pos] not in " \t\r\n":
            return self.buf[self.pos]  # the common case, without the regex
        while True:
            match = _WS.match(self.buf, self.pos)
            assert match is not None  # the pattern matches the empty string
            self.pos = match.end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def take(self, char: str) -> None:
        found = self.peek()
        if found != char:
            what = repr(found) if found else "the end of the file"
            raise Damaged(f"expected {char!r} at line {self.line()}, found {what}")
        self.pos += 1

    def value(self) -> Any:
        """Decode one JSON value. JSONDecodeError: it is malformed, and pos stays at its start."""
        if not self.peek():
            raise Damaged(f"the file ends at line {self.line()} where a value was expected")
        while True:
            try:
                obj, end = self._decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                # An error near the buffer's end may be a token cut by it (`tr|ue`, `\u20|28`),
                # and an unterminated string may end in the next chunk: read on and retry.
                # An error well inside the buffer is the record's own.
                cut = len(self.buf) - exc.pos < _LONGEST_TOKEN
                unterminated = exc.msg.startswith("Unterminated string")
                too_big = len(self.buf) - self.pos > MAX_RECORD_CHARS
                if self._eof or too_big or not (cut or unterminated):
                    raise
                self._fill()
                continue
            # A number that ends the buffer may go on in the next chunk.
            if end == len(self.buf) and not self._eof and self._fill():
                continue
            self.pos = end
            return obj

    def skip_value(self) -> None:
        """Move past one (possibly malformed) value by structure alone, in bounded memory."""
        depth = 0
        in_string = False
        while True:
            if self.pos >= len(self.buf) and not self._fill():
                raise Damaged("the file ends inside this record (truncated?)")
            buf = self.buf
            if in_string:
                match = _STRING_STOP.search(buf, self.pos)
                if match is None:
                    self.pos = len(buf)
                    continue
                i = match.start()
                if buf[i] == '"':
                    in_string = False
                    self.pos = i + 1
                    if depth == 0:
                        return
                elif i + 1 < len(buf):
                    self.pos = i + 2  # an escape: skip the escaped character
                else:
                    self.pos = i  # the escape is split across chunks: keep it for the next one
                    if not self._fill():
                        raise Damaged("the file ends inside this record (truncated?)")
                continue
            match = _STRUCTURE.search(buf, self.pos)
            if match is None:
                self.pos = len(buf)
                continue
            i = match.start()
            char = buf[i]
            if char == '"':
                in_string = True
                self.pos = i + 1
            elif char in "{[":
                depth += 1
                self.pos = i + 1
            elif depth == 0:  # a ',' or the close of the enclosing container: the value ended
                self.pos = i
                return
            elif char == ",":
                self.pos = i + 1
            else:
                depth -= 1
                self.pos = i + 1
                if depth == 0:
                    return

    def members(self) -> Iterator[str]:
        """Iterate an object's keys; the caller consumes each member's value before resuming."""
        self.take("{")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            try:
                key = self.value()
            except json.JSONDecodeError as exc:
                raise Damaged(f"malformed object key at line {self.line()}: {exc.msg}") from None
            if not isinstance(key, str):
                raise Damaged(f"expected an object key at line {self.line()}")
            self.take(":")
            yield key
            found = self.peek()
            if found == "}":
                self.pos += 1
                return
            self.take(",")

    def items(self) -> Iterator[None]:
        """Iterate an array; the caller consumes each element before resuming."""
        self.take("[")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield  # positioned on the element's first character
            found = self.peek()
            if found == "]":
                self.pos += 1
                return
            self.take(",")
            self.peek()
