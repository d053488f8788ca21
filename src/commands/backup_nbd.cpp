// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/backup_nbd.h"

#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include "nbd_changed_map.h"
#include "nbd_plan.h"
#include "nbd_previous.h"
#include "nbd_records_plan.h"
#include "nbd_vma_stream.h"
#include "pvediff/commands/scratch_dir.h"
#include "pvediff/commands/usage_error.h"
#include "pvediff/formats/vma_cluster_records.h"
#include "pvediff/io/error.h"
#include "pvediff/io/file_stream.h"
#include "pvediff/io/nbd_source.h"
#include "pvediff/io/stream_pipe.h"

namespace pvediff::commands {

namespace fs = std::filesystem;

namespace {

// The name vzdump gives the guest's config inside a VMA.
constexpr const char* config_blob_name = "qemu-server.conf";

void check_options(const NbdBackupOptions& o)
{
    if (o.disks.empty() || o.disks.size() > formats::vma::max_devices) {
        throw UsageError(fmt::format("backup --nbd: between 1 and {} disks", formats::vma::max_devices));
    }
    std::set<std::string> seen;
    for (const auto& d : o.disks) {
        if (d.device.empty() || d.uri.empty() || !seen.insert(d.device).second) {
            throw UsageError(fmt::format(
                "backup --nbd: '{}={}': each disk needs its own device name and a URI", d.device, d.uri));
        }
    }
    if (o.vmid == 0 || o.dumpdir.empty() || o.guest_config.empty()) {
        throw UsageError("backup --nbd: needs --vmid, --dumpdir and --guest-config");
    }
}

std::string read_guest_config(const fs::path& path)
{
    auto in = io::open_file_source(path.string());
    std::string data(0xffff + 1, '\0');
    std::size_t got =
        io::read_full(*in, std::span(reinterpret_cast<std::uint8_t*>(data.data()), data.size()));
    if (got > 0xffff) {
        throw io::file_error(path.string(), "larger than a VMA config blob may be (64 KiB)");
    }
    data.resize(got);
    return data;
}

formats::Uuid random_uuid()
{
    std::random_device random;
    formats::Uuid uuid{};
    for (auto& b : uuid) {
        b = static_cast<std::uint8_t>(random());
    }
    uuid[6] = static_cast<std::uint8_t>((uuid[6] & 0x0f) | 0x40);  // version 4
    uuid[8] = static_cast<std::uint8_t>((uuid[8] & 0x3f) | 0x80);  // variant 1
    return uuid;
}

// The ranges of `context`'s extents whose flags satisfy `want`.
std::vector<io::NbdRange> ranges_where(io::NbdExport& e, const std::string& context,
                                       bool (*want)(std::uint32_t flags))
{
    std::vector<io::NbdRange> out;
    for (const auto& x : e.extents(context)) {
        if (want(x.flags)) {
            out.push_back({x.offset, x.length});
        }
    }
    return out;
}

using Exports = std::vector<std::unique_ptr<io::NbdExport>>;

Exports connect(const NbdBackupOptions& o, const std::vector<std::string>& contexts)
{
    Exports out;
    for (const auto& d : o.disks) {
        out.push_back(std::make_unique<io::NbdExport>(d.uri, contexts));
    }
    return out;
}

bool all_offer(const Exports& exports, const std::string& context)
{
    return std::all_of(exports.begin(), exports.end(),
                       [&](const auto& e) { return e->has_context(context); });
}

std::string devices_key(const NbdBackupOptions& o, const Exports& exports)
{
    std::string key;
    for (std::size_t i = 0; i < exports.size(); ++i) {
        key += fmt::format("{}{}={}", i == 0 ? "" : ",", o.disks[i].device, exports[i]->size());
    }
    return key;
}

std::vector<std::uint64_t> device_sizes(const Exports& exports)
{
    std::vector<std::uint64_t> sizes;
    for (const auto& e : exports) {
        sizes.push_back(e->size());
    }
    return sizes;
}

// The previous backup's changed-cluster map, or why the plan path cannot use it.
std::optional<detail::ChangedMap> previous_map(const detail::Continuation& c, const Exports& exports,
                                               const store::EffectiveSettings& settings, std::string& why_not)
{
    if (settings.engine != "default" && settings.engine != "chunked") {
        why_not = fmt::format("engine '{}' is configured", settings.engine);
        return std::nullopt;
    }
    const fs::path path = detail::changed_map_path(c.previous);
    if (!fs::exists(fs::symlink_status(path))) {
        why_not = fmt::format(
            "{} has no changed-cluster map (not written from a cluster plan or as a full "
            "by backup --nbd)",
            c.previous.filename().string());
        return std::nullopt;
    }
    try {
        return detail::ChangedMap::load(path, device_sizes(exports));
    } catch (const io::Error& e) {
        why_not = fmt::format("the changed-cluster map of {} is damaged ({})", c.previous.filename().string(),
                              e.what());
        return std::nullopt;
    }
}

// Adds the nbd-* keys to the manifest of what the run wrote.
void record_in_manifest(const fs::path& written, const std::vector<std::pair<std::string, std::string>>& keys)
{
    std::optional<store::Manifest> m = store::read_manifest(written);
    if (!m) {
        throw io::file_error(written.string(), "has no manifest after the backup");
    }
    std::erase_if(m->unknown, [](const auto& kv) { return kv.first.starts_with("nbd-"); });
    m->unknown.insert(m->unknown.end(), keys.begin(), keys.end());
    store::write_manifest(written, *m);
}

// The stream path: the VMA is written on a thread into a pipe that backup_stream
// (backup.h) reads, encodes and proves like any stream.
void write_by_stream(const NbdBackupOptions& options, const store::EffectiveSettings& settings,
                     const Report& report, Progress* progress, const detail::NbdVmaPlan& plan,
                     const std::optional<detail::Continuation>& continuation, const fs::path& dir,
                     NbdBackupResult& result)
{
    std::optional<detail::PreviousContent> previous;
    if (continuation) {
        previous.emplace(*continuation, dir);
    }
    io::StreamPipe pipe("VMA from NBD", 4);
    std::thread producer([&] {
        try {
            detail::write_nbd_vma(plan, previous ? &previous->source() : nullptr, pipe.sink());
            if (previous) {
                previous->check_complete();  // before the end: a mismatch fails the run
            }
            pipe.sink().finish();
        } catch (const std::exception& e) {
            pipe.fail(e.what());  // reason 2 of "Errors": carried to the reading side
        }
    });
    // However this scope is left, the producer ends first (a reader gone makes its
    // writes throw); on success it has finished already.
    struct Joiner {
        io::StreamPipe& pipe;
        std::thread& thread;
        ~Joiner()
        {
            if (thread.joinable()) {
                pipe.close_reader();
                thread.join();
            }
        }
    } joiner{pipe, producer};
    StreamBackupOptions stream;
    stream.type = store::GuestType::qemu;
    stream.vmid = options.vmid;
    stream.dumpdir = dir;
    stream.full_codec = options.full_codec.value_or(io::Codec::zstd);
    stream.now = options.now;
    stream.input = std::make_unique<io::SourceRef>(pipe.source());
    stream.input_what = "NBD";
    result.backup = backup_stream(std::move(stream), settings, report, progress);
    producer.join();
}

// Today's plan path (nbd_plan.h): the full read whole, in step with the new VMA.
PlannedBackupResult write_by_plan(PlannedBackupOptions po, const store::EffectiveSettings& settings,
                                  const Report& report, const detail::NbdVmaPlan& plan,
                                  const detail::Continuation& continuation, const detail::ChangedMap& map,
                                  std::optional<detail::PlanOutcome>& planned)
{
    const fs::path dir = po.dumpdir;
    // A differential the plan path wrote is decoded in step with the full; one that
    // will not be (it copies from elsewhere) is rebuilt whole instead.
    bool in_step = detail::written_by_plan(continuation);
    po.write = [&](const fs::path& base, io::ByteSink& out, engine::CopyProof& proof) {
        const detail::PreviousBackup previous{continuation, scratch_dir(settings.tmpdir, dir), in_step};
        planned = detail::write_nbd_plan(plan, base, continuation.full.empty() ? nullptr : &previous, map,
                                         out, proof);
        return planned->content;
    };
    if (in_step) {
        report(fmt::format("decoding {} in step with its full", continuation.previous.filename().string()));
    }
    try {
        return backup_planned(po, settings, report);
    } catch (const engine::InStepRefused& e) {
        report(fmt::format("{}: rebuilding it whole against its full instead", e.what()));
        in_step = false;
        planned.reset();
        return backup_planned(po, settings, report);
    }
}

// The records route (nbd_records_plan.h). When the previous differential cannot be
// decoded from its changed records, says why in result.records_not_used (the caller
// takes the plan path) and returns nothing.
PlannedBackupResult write_by_records(PlannedBackupOptions po, const store::EffectiveSettings& settings,
                                     const Report& report, const detail::NbdVmaPlan& plan,
                                     const detail::Continuation& continuation, const detail::ChangedMap& map,
                                     std::optional<detail::PlanOutcome>& planned,
                                     std::optional<formats::ChangedRecordsWriter>& changed_records,
                                     NbdBackupResult& result)
{
    const io::FileMode mode = io::mode_like(po.base);
    po.on_target = [&](const fs::path& target) {
        changed_records.reset();
        changed_records.emplace(formats::cluster_records_path(target), mode);
    };
    std::optional<detail::RecordsOutcome> outcome;
    po.write = [&](const fs::path& base, io::ByteSink& out, engine::CopyProof& proof) {
        outcome = detail::write_nbd_records_plan(plan, base, continuation, map, *changed_records, out, proof);
        return outcome->content;
    };
    report(
        fmt::format("writing the differential from the cluster records of {}", po.base.filename().string()));
    PlannedBackupResult r;
    try {
        r = backup_planned(po, settings, report);
    } catch (const engine::InStepRefused& e) {
        result.records_not_used = e.what();
        changed_records.reset();
        return {};
    }
    if (outcome) {
        planned = detail::PlanOutcome{outcome->content, std::move(outcome->changed), 0, outcome->clusters};
        result.by_records = true;
        result.extents = outcome->extents;
        result.extents_touched = outcome->extents_touched;
        result.frames_read = outcome->frames_read;
        result.previous_changed = outcome->previous_changed;
        report(
            fmt::format("from the records: {} of {} extents held a dirty or changed cluster; {} frames of "
                        "the full decompressed ({}); {} changed clusters of the previous backup decoded",
                        outcome->extents_touched, outcome->extents, outcome->frames_read,
                        human_bytes(outcome->frame_bytes), outcome->previous_changed));
    }
    return r;
}

}  // namespace

NbdBackupResult backup_nbd(const NbdBackupOptions& options, const store::EffectiveSettings& settings,
                           const Report& report, Progress* progress)
{
    check_options(options);
    const fs::path dir = fs::absolute(options.dumpdir);
    NbdBackupResult result;
    detail::NbdVmaPlan plan;
    plan.uuid = random_uuid();
    plan.ctime = options.now.value_or(std::time(nullptr));
    plan.configs.push_back({config_blob_name, read_guest_config(options.guest_config)});

    // Which backup the bitmap continues from, if any (docs/nbd.md, "Trust rules").
    // A dirty-only read connects with the bitmap's context only: PVE's exports answer
    // nothing outside the dirty extents.
    const std::string bitmap_context = options.bitmap ? io::nbd_dirty_bitmap_context(*options.bitmap) : "";
    Exports exports;
    std::optional<detail::Continuation> continuation;
    if (!options.bitmap) {
        result.full_read_reason = "no dirty bitmap given";
    } else if (options.bitmap_mode == BitmapMode::fresh) {
        result.full_read_reason = fmt::format("bitmap '{}' is new", *options.bitmap);
    } else {
        exports = connect(options, {bitmap_context});
        for (std::size_t i = 0; i < exports.size() && result.full_read_reason.empty(); ++i) {
            if (!exports[i]->has_context(bitmap_context)) {
                result.full_read_reason =
                    fmt::format("bitmap '{}' is not on {} (removed, or lost when the VM stopped)",
                                *options.bitmap, options.disks[i].device);
            }
        }
        if (result.full_read_reason.empty()) {
            detail::Continuation c =
                detail::find_continuation(dir, options.vmid, *options.bitmap, devices_key(options, exports));
            if (c.reason.empty()) {
                continuation = std::move(c);
            } else {
                result.full_read_reason = c.reason;
            }
        }
    }
    if (!continuation) {
        std::vector<std::string> contexts{io::nbd_allocation_context};
        if (options.bitmap) {
            contexts.push_back(bitmap_context);  // only to see whether it is there
        }
        exports.clear();  // first: a server may take one client at a time (qemu-nbd's default)
        exports = connect(options, contexts);
    }
    const std::string devices = devices_key(options, exports);
    // Recorded only when every export has it: a bitmap added after this run must not
    // look as if it had counted since this backup.
    const bool bitmap_recorded = options.bitmap && all_offer(exports, bitmap_context);
    if (options.bitmap && !bitmap_recorded) {
        report(fmt::format("bitmap '{}' is not on every disk: the next run cannot continue from this one",
                           *options.bitmap));
    }

    for (std::size_t i = 0; i < exports.size(); ++i) {
        detail::NbdDisk disk{options.disks[i].device, exports[i].get(), {}};
        if (continuation) {
            disk.reads = ranges_where(*exports[i], bitmap_context,
                                      [](std::uint32_t f) { return (f & io::nbd_state_dirty) != 0; });
        } else if (exports[i]->has_context(io::nbd_allocation_context)) {
            // What reads as zeros need not be read: the VMA leaves it out anyway.
            disk.reads = ranges_where(*exports[i], io::nbd_allocation_context,
                                      [](std::uint32_t f) { return (f & io::nbd_state_zero) == 0; });
        } else {
            disk.reads.push_back({0, exports[i]->size()});
        }
        for (const auto& r : disk.reads) {
            result.bytes_listed += r.length;
        }
        plan.disks.push_back(std::move(disk));
    }
    result.dirty_only = continuation.has_value();
    if (continuation) {
        report(fmt::format("bitmap '{}' continues from {}: reading only its dirty extents, {}",
                           *options.bitmap, continuation->previous.filename().string(),
                           human_bytes(result.bytes_listed)));
    } else {
        report(fmt::format("reading every allocated extent ({}), {}", result.full_read_reason,
                           human_bytes(result.bytes_listed)));
    }

    // The plan path (docs/nbd.md): the differential written from what is known of
    // each cluster, without the chunk encoder over the new stream.
    std::optional<detail::PlanOutcome> planned;
    std::optional<formats::ChangedRecordsWriter> changed_records;  // the records route's
    std::string plan_not_used;
    if (continuation) {
        if (auto map = previous_map(*continuation, exports, settings, plan_not_used)) {
            PlannedBackupOptions po;
            po.vmid = options.vmid;
            po.dumpdir = dir;
            po.full_codec = options.full_codec.value_or(io::Codec::zstd);
            po.now = options.now;
            po.base = continuation->full.empty() ? continuation->previous : continuation->full;
            PlannedBackupResult r;
            result.records_not_used = detail::records_route_refusal(*continuation, po.base, *map);
            if (result.records_not_used.empty()) {
                r = write_by_records(po, settings, report, plan, *continuation, *map, planned,
                                     changed_records, result);
            }
            if (!result.records_not_used.empty()) {
                report(fmt::format("the full's cluster records are not used ({})", result.records_not_used));
                r = write_by_plan(po, settings, report, plan, *continuation, *map, planned);
            }
            if (r.backup) {
                result.backup = *r.backup;
            } else {
                planned.reset();
                changed_records.reset();
                result.by_records = false;
                plan_not_used = r.not_taken;
            }
        }
        if (!planned) {
            report(
                fmt::format("the cluster plan is not used ({}): the whole new VMA goes through the encoder",
                            plan_not_used));
        }
    }
    if (!planned) {
        write_by_stream(options, settings, report, progress, plan, continuation, dir, result);
    }
    for (const auto& e : exports) {
        result.bytes_read += e->bytes_read();
    }
    std::vector<std::pair<std::string, std::string>> keys{
        {detail::nbd_devices_key, devices},
        {detail::nbd_read_key, continuation ? "dirty-since " + continuation->previous.filename().string()
                                            : std::string("whole-disk")},
        {detail::nbd_bytes_read_key, std::to_string(result.bytes_read)}};
    if (bitmap_recorded) {
        // The caller clears the bitmap once this run succeeded (as QEMU does after a
        // backup): from now on it counts the writes since this backup.
        keys.emplace_back(detail::nbd_bitmap_key, *options.bitmap);
    }
    if (planned) {
        keys.emplace_back(
            detail::nbd_plan_key,
            fmt::format("{} of {} clusters changed since the full{}", planned->changed.count(),
                        planned->clusters, result.by_records ? detail::records_route_note : ""));
    } else if (continuation) {
        keys.emplace_back(detail::nbd_plan_key, "not used: " + plan_not_used);
    }
    record_in_manifest(result.backup.written, keys);
    // The map the next run needs (after the manifest: a run killed in between leaves
    // a backup without a map, and the next run takes the stream path, saying why).
    const io::FileMode mode = io::mode_like(result.backup.written);
    if (planned) {
        planned->changed.save(detail::changed_map_path(result.backup.written), mode);
        if (changed_records) {
            changed_records->commit(
                {planned->content.target_size, planned->content.target_sha256, result.backup.file_size});
        }
        if (planned->outside_map > 0) {
            report(
                fmt::format("{} clusters differ from the full outside the dirty extents and the previous "
                            "backup's map (the map missed them; encoded from their bytes)",
                            planned->outside_map));
        }
    } else if (!result.backup.differential) {
        detail::ChangedMap(device_sizes(exports)).save(detail::changed_map_path(result.backup.written), mode);
    }
    result.planned = planned.has_value();
    report(fmt::format("{} read over NBD", human_bytes(result.bytes_read)));
    return result;
}

}  // namespace pvediff::commands
