// SPDX-License-Identifier: GPL-2.0-or-later
// Placeholder so the layer library exists before its first source lands; remove
// once src/formats has real sources.
namespace pvediff::formats {}
