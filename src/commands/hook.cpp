// SPDX-License-Identifier: GPL-2.0-or-later
#include "pvediff/commands/hook.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pvediff/commands/backup.h"
#include "pvediff/io/error.h"
#include "pvediff/io/parse_number.h"
#include "pvediff/store/names.h"

namespace pvediff::commands {

namespace fs = std::filesystem;

namespace {

std::string env_of(const HookCall& call, const std::string& key)
{
    const auto it = call.env.find(key);
    return it == call.env.end() ? std::string() : it->second;
}

// The archive to work on, or empty with the reason there is none.
fs::path target_archive(const HookCall& call, std::string& why_not)
{
    const std::string dumpdir = env_of(call, "DUMPDIR");
    const std::string target = env_of(call, "TARGET");
    if (dumpdir.empty()) {
        why_not = "no DUMPDIR (Proxmox Backup Server storage?)";
        return {};
    }
    if (target.empty() || target == "-") {
        why_not = "no target file (--stdout?)";
        return {};
    }
    struct stat st {};
    if (::stat(target.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        why_not = "target '" + target + "' is not a file";
        return {};
    }
    std::error_code ec;
    const fs::path dir = fs::weakly_canonical(dumpdir, ec);
    fs::path file = fs::weakly_canonical(target, ec);
    if (ec || file.parent_path() != dir) {
        why_not = "target '" + target + "' is not in DUMPDIR";
        return {};
    }
    return file;
}

// Why TARGET is not this call's guest's archive (its name gives another VMID, or
// another type than VMTYPE), or empty when it is.
std::string target_mismatch(const HookCall& call, std::uint32_t vmid, const fs::path& archive)
{
    const auto name = store::parse_backup_name(archive.filename().string());
    const std::string type = env_of(call, "VMTYPE");
    if (name->vmid != vmid) {
        return fmt::format("target '{}' is not an archive of guest {}", archive.filename().string(), vmid);
    }
    if (!type.empty() && store::parse_guest_type(type) != name->type) {
        return "target '" + archive.filename().string() + "' is not an archive of a " + type + " guest";
    }
    return {};
}

// Runs the chained hook script with our arguments and the environment vzdump gave.
int run_chained(const std::string& script, const HookCall& call, const Report& report)
{
    std::vector<std::string> env_strings;
    env_strings.reserve(call.env.size());
    for (const auto& [k, v] : call.env) {
        env_strings.push_back(fmt::format("{}={}", k, v));
    }
    std::vector<char*> argv{const_cast<char*>(script.c_str())};
    for (const auto& a : call.args) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    envp.reserve(env_strings.size() + 1);
    for (auto& e : env_strings) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
        io::throw_errno("start hook script", script, errno);
    }
    if (pid == 0) {
        ::execve(script.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != 0) {
        report(fmt::format("hook script {} exited with status {}", script, code));
    }
    return code;
}

}  // namespace

int run_hook(const HookCall& call, const store::Config& config, const Report& report, Progress* progress)
{
    if (call.args.empty()) {
        throw io::Error("hook: missing phase");
    }
    const std::string& phase = call.args[0];
    // The whole argument is the VMID ("101abc" is none): a TARGET is worked on only
    // when its name is of this very guest (target_mismatch).
    std::uint32_t vmid = 0;
    if (call.args.size() >= 3) {
        const std::string& v = call.args[2];
        const auto n = io::parse_number<std::uint32_t>(v);
        if (n && v[0] != '0') {
            vmid = *n;
        }
    }
    const store::EffectiveSettings settings = config.effective_for(vmid);
    int status = 0;
    if (phase == store::hook_phase_name(settings.hook_phase) && vmid != 0) {
        std::string why_not;
        const fs::path archive = target_archive(call, why_not);
        if (archive.empty()) {
            report("nothing to do: " + why_not);
        } else if (!store::parse_backup_name(archive.filename().string())) {
            report("nothing to do: '" + archive.filename().string() + "' is not a vzdump archive name");
        } else if (const std::string mismatch = target_mismatch(call, vmid, archive); !mismatch.empty()) {
            report("error: " + mismatch + ": left as it is");
            status = 1;
        } else {
            try {
                backup_archive(archive, settings, report, progress);
            } catch (const std::exception& e) {
                report(std::string("error: ") + e.what());
                report("the archive stays a full");
                status = 1;
            }
        }
    }
    if (!settings.hook_script.empty()) {
        const int chained = run_chained(settings.hook_script, call, report);
        status = status != 0 ? status : chained;
    }
    return status;
}

}  // namespace pvediff::commands
