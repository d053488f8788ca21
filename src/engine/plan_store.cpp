// SPDX-License-Identifier: GPL-2.0-or-later
#include "plan_store.h"

namespace pvediff::engine::detail {

namespace {
std::span<const std::uint8_t> bytes_of(const std::vector<PlanItem>& items)
{
    return {reinterpret_cast<const std::uint8_t*>(items.data()), items.size() * sizeof(PlanItem)};
}
}  // namespace

void PlanStore::push(const PlanItem& item)
{
    if (!marks_.empty()) {
        pending_.push_back(last_);
        if (pending_.size() == write_items) {
            file_.append(bytes_of(pending_));
            stored_ += pending_.size();
            pending_.clear();
        }
    }
    last_ = item;
    marks_.emplace_back();
}

PlanItem PlanStore::get(std::size_t at)
{
    if (at + 1 == marks_.size()) {
        return last_;
    }
    if (at >= stored_) {
        return pending_[at - stored_];
    }
    // Only whole batches are in the file, so every block of it is whole.
    const std::size_t first = at - at % block_items;
    if (cache_.empty()) {
        cache_.resize(cached_blocks);
    }
    Block& block = cache_[(first / block_items) % cached_blocks];
    if (block.first != first) {
        file_.read(first * sizeof(PlanItem),
                   std::span(reinterpret_cast<std::uint8_t*>(block.items.data()), sizeof(block.items)));
        block.first = first;
    }
    return block.items[at - first];
}

void PlanStore::clear()
{
    file_.clear();
    stored_ = 0;
    pending_.clear();
    last_ = {};
    marks_.clear();
    cache_.clear();
}

}  // namespace pvediff::engine::detail
