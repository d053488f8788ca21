// SPDX-License-Identifier: GPL-2.0-or-later
// Regression replay for the fuzz targets in normal builds: runs LLVMFuzzerTestOneInput
// over every file of the directories given (the corpus, then the crashes found so far).
// A finding aborts the process, so the ctest fails. The first directory must hold at
// least one input, or the test would pass without testing anything.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

#include "fuzz_util.h"

namespace fs = std::filesystem;

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " CORPUS_DIR [MORE_DIRS...]\n";
        return 2;
    }
    for (int i = 1; i < argc; ++i) {
        const fs::path dir = argv[i];
        std::vector<fs::path> files;
        if (fs::is_directory(dir)) {
            for (const auto& entry : fs::directory_iterator(dir)) {
                if (entry.is_regular_file() && !entry.path().filename().string().starts_with('.')) {
                    files.push_back(entry.path());
                }
            }
        }
        std::sort(files.begin(), files.end());  // a stable order for reproducible runs
        if (i == 1 && files.empty()) {
            std::cerr << "no inputs in " << dir << "\n";
            return 1;
        }
        for (const fs::path& file : files) {
            std::ifstream in(file, std::ios::binary);
            const std::vector<char> raw{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
            if (!in.good() && !in.eof()) {
                std::cerr << "cannot read " << file << "\n";
                return 1;
            }
            std::cerr << "replay " << file.filename().string() << " (" << raw.size() << " bytes)\n";
            std::vector<std::uint8_t> data(raw.begin(), raw.end());
            LLVMFuzzerTestOneInput(data.data(), data.size());
        }
        std::cout << files.size() << " inputs from " << dir.string() << " ok\n";
    }
    return 0;
}
