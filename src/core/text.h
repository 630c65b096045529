// Byte-level text helpers shared by every module: lower-casing ASCII, cutting UTF-8 text to a
// size without splitting a character, and replacing control characters before text reaches a
// log, a header, a report or a terminal. Pure; no locale is consulted.
//
// The drop-in (cmd/mailwarden_sendmail.cc, submit/sendmail_args.cc) is built without the C++
// library and keeps its own small copies of what it needs.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mailwarden {

// text between double quotes, for an error message that quotes what it was given. (Built by
// appending: GCC 12 at -O3 reports a false -Wrestrict for "\"" + std::string(...).)
std::string Quoted(std::string_view text);

// text without the bytes of `space` (spaces, tabs, CR and LF unless told) at either end.
std::string_view TrimAscii(std::string_view text, std::string_view space = " \t\r\n");

// text with A-Z lowered; every other byte (UTF-8 sequences included) as it is.
std::string ToAsciiLower(std::string_view text);

// The longest prefix of text of at most max_bytes bytes that does not end inside a UTF-8
// sequence: a cut never leaves a lone lead or continuation byte behind. text as it is when it
// fits. Bytes before the cut are not checked for being valid UTF-8.
std::string_view CutAtUtf8Boundary(std::string_view text, std::size_t max_bytes);

// text with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD (one
// replacement per byte): overlong forms, UTF-16 surrogates, code points above U+10FFFF and
// sequences cut short are not valid. For raw bytes from mail on their way into JSON, which
// takes UTF-8 only.
std::string ValidUtf8(std::string_view text);

// Which control characters ScrubControl replaces.
enum class ControlSet {
  kC0AndDel,    // bytes 0x00-0x1F and 0x7F (CR, LF, TAB, ESC, ...)
  kC0DelAndC1,  // also U+0080-U+009F as UTF-8 (0xC2 0x80-0x9F): what a terminal obeys too
};

// text with each control character of `set` replaced by `replacement` (a C1 character's two
// bytes by one replacement); every other byte as it is. The result has no line break.
std::string ScrubControl(std::string_view text, char replacement = ' ',
                         ControlSet set = ControlSet::kC0AndDel);

// text as it may stand between the double quotes of a log line's field (reply="..."): control
// characters (C0, DEL and C1) become spaces and a double quote a single one, so that a remote
// server's answer can neither move a terminal's cursor nor end its field and fake another.
std::string LogText(std::string_view text);

}  // namespace mailwarden
