// SPDX-License-Identifier: GPL-2.0-or-later
// commands::printable(): text output cannot carry a forged line or a terminal escape.
#include <gtest/gtest.h>

#include "pvediff/commands/report.h"

namespace pvediff::commands {
namespace {

TEST(CommandsPrintable, PlainTextAndUtf8AreUnchanged)
{
    EXPECT_EQ(printable("vzdump-qemu-101-2026_11_01-01_00_00.vma.zst: ok"),
              "vzdump-qemu-101-2026_11_01-01_00_00.vma.zst: ok");
    EXPECT_EQ(printable("Grüße/日本/🙂"), "Grüße/日本/🙂");
    EXPECT_EQ(printable(""), "");
}

TEST(CommandsPrintable, ControlCharactersAreEscaped)
{
    EXPECT_EQ(printable("a\n\033[32mok ALL GOOD\033[0m\nb"), "a\\n\\x1b[32mok ALL GOOD\\x1b[0m\\nb");
    EXPECT_EQ(printable("\r\t\x7f"), "\\r\\t\\x7f");
    EXPECT_EQ(printable(std::string_view("a\0b", 3)), "a\\x00b");
    // The backslash itself, so that an escape in the output always means one.
    EXPECT_EQ(printable("a\\nb"), "a\\\\nb");
}

TEST(CommandsPrintable, C1ControlsAndBrokenUtf8AreEscaped)
{
    EXPECT_EQ(printable("\xc2\x9b"
                        "31m"),
              "\\xc2\\x9b31m");  // U+009B, the 8-bit CSI
    EXPECT_EQ(printable("\x9b"
                        "31m"),
              "\\x9b31m");                                    // a lone C1 byte
    EXPECT_EQ(printable("\xc3"), "\\xc3");                    // cut sequence
    EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
    EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
}

}  // namespace
}  // namespace pvediff::commands
