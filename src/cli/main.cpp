// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/cli/exit_codes.h"

int main(int argc, char** argv)
{
    return pvediff::cli::run(argc, argv);
}
