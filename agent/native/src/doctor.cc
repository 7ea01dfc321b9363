#include "doctor_probes.h"
#include "signals_blocked.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <malloc.h>
#include <bpf/libbpf.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>

#include <linux/types.h>

#include "doctor.h"  // bpf/doctor.h: structs shared with doctor.bpf.c
#include "doctor.skel.h"
#include "libbpf_log.h"
#include "cpu_clock.h"
#include "online_cpus.h"
#include "retransmit_capture.h"
#include "sched_capture.h"
#include "span_capture.h"

extern "C" __attribute__((noinline, used, visibility("default"))) int kiln_doctor_uprobe_target(int x) {
  asm volatile("" ::: "memory");
  return x + 1;
}

namespace kiln {
namespace {

struct SkelDeleter {
  void operator()(doctor_bpf* s) const { doctor_bpf__destroy(s); }
};
using Skel = std::unique_ptr<doctor_bpf, SkelDeleter>;

struct LinkDeleter {
  void operator()(bpf_link* l) const { bpf_link__destroy(l); }
};
using Link = std::unique_ptr<bpf_link, LinkDeleter>;

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

struct Failure {
  std::string message;
};

// Opens the doctor object with only `program` enabled and loads it. Throws Failure.
Skel load_only(const char* program) {
  clear_libbpf_log();
  Skel skel(doctor_bpf__open());
  if (!skel) throw Failure{libbpf_error("open doctor object", errno)};
  skel->rodata->target_tgid = static_cast<__u32>(getpid());
  bpf_program* p;
  bpf_object__for_each_program(p, skel->obj) {
    bpf_program__set_autoload(p, std::strcmp(bpf_program__name(p), program) == 0);
  }
  int err;
  {
    SignalsBlocked blocked;
    err = doctor_bpf__load(skel.get());
  }
  if (err) throw Failure{libbpf_error(std::string("load ") + program, err)};
  return skel;
}

bpf_program* program_named(const Skel& skel, const char* name) {
  return bpf_object__find_program_by_name(skel->obj, name);
}

Link attach(const Skel& skel, const char* program) {
  bpf_link* link = bpf_program__attach(program_named(skel, program));
  if (!link) throw Failure{libbpf_error(std::string("attach ") + program, errno)};
  return Link(link);
}

__u64 hits(const Skel& skel, __u32 idx) {
  __u64 value = 0;
  bpf_map__lookup_elem(skel->maps.hits, &idx, sizeof idx, &value, sizeof value, 0);
  return value;
}

void sleep_briefly(int times) {
  for (int i = 0; i < times; i++) usleep(2000);
}

void burn_cpu(std::chrono::milliseconds how_long) {
  auto end = std::chrono::steady_clock::now() + how_long;
  volatile unsigned long x = 0;
  while (std::chrono::steady_clock::now() < end) x = x + 1;
}

template <typename F>
ProbeResult probe(const char* facility, F&& body) {
  try {
    return ProbeResult{facility, true, body()};
  } catch (const Failure& f) {
    return ProbeResult{facility, false, f.message};
  }
}

// libbpf resolves tracepoint ids through tracefs; a bare host or container may not have it mounted.
std::string ensure_tracefs() {
  struct stat st{};
  if (stat("/sys/kernel/tracing/events", &st) == 0) return "mounted at /sys/kernel/tracing";
  if (stat("/sys/kernel/debug/tracing/events", &st) == 0) return "mounted at /sys/kernel/debug/tracing";
  if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0) {
    throw Failure{std::string("not mounted, and mounting it at /sys/kernel/tracing failed: ") + std::strerror(errno)};
  }
  return "was not mounted; kiln mounted it at /sys/kernel/tracing";
}

std::string check_btf() {
  clear_libbpf_log();
  btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) throw Failure{libbpf_error("load vmlinux BTF", errno)};
  unsigned types = btf__type_cnt(vmlinux);
  btf__free(vmlinux);
  return "vmlinux BTF has " + std::to_string(types) + " types";
}

// The agent's start: the kernel's own BTF is there and is BTF (its header), without parsing its
// ~5 MB, which libbpf does anyway when it loads the sampler (and any error there is reported).
// Where sysfs has none, libbpf's search of other places (check_btf) decides.
std::string check_btf_present() {
  const char* path = "/sys/kernel/btf/vmlinux";
  Fd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (fd.fd < 0) {
    if (errno == ENOENT) return check_btf();
    throw Failure{std::string("open ") + path + ": " + std::strerror(errno)};
  }
  btf_header header{};
  ssize_t n = read(fd.fd, &header, sizeof header);
  if (n < 0) throw Failure{std::string("read ") + path + ": " + std::strerror(errno)};
  if (static_cast<size_t>(n) < sizeof header || header.magic != BTF_MAGIC) throw Failure{std::string(path) + " is not BTF (bad header)"};
  struct stat st{};
  fstat(fd.fd, &st);
  return std::string("vmlinux BTF at ") + path + " (" + std::to_string(st.st_size / 1024) + " KiB)";
}

std::vector<int> online_cpus_or_fail() {
  std::vector<int> cpus = online_cpus();
  if (cpus.empty()) throw Failure{"no online CPUs found in /sys/devices/system/cpu/online"};
  return cpus;
}

// open_cpu_clock, owned; throws Failure.
std::unique_ptr<Fd> cpu_clock_or_fail(int cpu, __u64 hz, bool disabled) {
  int fd = open_cpu_clock(cpu, hz, disabled);
  if (fd < 0) throw Failure{std::string("perf_event_open(cpu-clock, cpu ") + std::to_string(cpu) + "): " + std::strerror(errno)};
  return std::make_unique<Fd>(fd);
}

std::string check_cpu_clock() {
  Skel skel = load_only("cpu_clock");
  std::vector<int> cpus = online_cpus_or_fail();
  std::vector<std::unique_ptr<Fd>> fds;
  std::vector<Link> links;
  for (int cpu : cpus) {
    fds.push_back(cpu_clock_or_fail(cpu, 997, false));
    int fd = fds.back()->fd;
    bpf_link* link = bpf_program__attach_perf_event(skel->progs.cpu_clock, fd);
    if (!link) throw Failure{libbpf_error("attach perf_event program on cpu " + std::to_string(cpu), errno)};
    links.emplace_back(link);
  }
  burn_cpu(std::chrono::milliseconds(150));
  __u64 samples = hits(skel, HIT_CPU_CLOCK);
  __u64 stacks = hits(skel, HIT_STACK);
  if (samples == 0) throw Failure{"cpu-clock events attached on " + std::to_string(cpus.size()) + " CPUs but no sample arrived in 150 ms"};
  if (stacks == 0) throw Failure{std::to_string(samples) + " samples but bpf_get_stack never returned a user stack"};
  return std::to_string(samples) + " samples on " + std::to_string(cpus.size()) + " CPUs in 150 ms, " + std::to_string(stacks) + " user stacks";
}

std::string check_cpu_clock_opens() {
  std::vector<int> cpus = online_cpus_or_fail();
  for (int cpu : cpus) cpu_clock_or_fail(cpu, 19, true);
  return "opened on " + std::to_string(cpus.size()) + " CPUs";
}

std::string check_tracepoint_hits(const char* program, __u32 idx, bool must_fire) {
  Skel skel = load_only(program);
  Link link = attach(skel, program);
  sleep_briefly(5);
  __u64 n = hits(skel, idx);
  if (must_fire && n == 0) throw Failure{"attached, but it did not fire while this process slept"};
  return must_fire ? "attached; fired " + std::to_string(n) + " times in 10 ms" : "attached";
}

struct RingResult {
  ProbeResult tracepoint;
  ProbeResult ringbuf;
};

int on_ring_event(void* ctx, void* data, size_t size) {
  auto* seen = static_cast<int*>(ctx);
  if (size >= sizeof(doctor_event)) {
    auto* e = static_cast<doctor_event*>(data);
    if (e->pid == static_cast<__u32>(getpid())) *seen = static_cast<int>(e->fd);
  }
  return 0;
}

RingResult check_syscalls_and_ringbuf() {
  const char* tp = "tracepoint syscalls:sys_enter_write";
  const char* rb = "BPF ring buffer";
  try {
    Skel skel = load_only("sys_enter_write");
    Link link = attach(skel, "sys_enter_write");
    int seen_fd = -1;
    ring_buffer* ring = ring_buffer__new(bpf_map__fd(skel->maps.events), on_ring_event, &seen_fd, nullptr);
    if (!ring) {
      std::string why = libbpf_error("ring_buffer__new", errno);
      return {{tp, true, "attached"}, {rb, false, why}};
    }
    Fd devnull(open("/dev/null", O_WRONLY | O_CLOEXEC));
    ssize_t w = write(devnull.fd, "k", 1);
    (void)w;
    ring_buffer__poll(ring, 500);
    ring_buffer__free(ring);
    __u64 n = hits(skel, HIT_SYS_ENTER_WRITE);
    ProbeResult tpr{tp, n > 0, n > 0 ? "attached; saw this process's write()" : "attached, but did not fire on write()"};
    bool got = seen_fd == devnull.fd;
    ProbeResult rbr{rb, got, got ? "event from the kernel received" : "no event arrived within 500 ms"};
    return {tpr, rbr};
  } catch (const Failure& f) {
    clear_libbpf_log();
    int probe = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr);
    return {{tp, false, f.message},
            {rb, probe == 1, probe == 1 ? "map type supported (not exercised: the syscall tracepoint failed)" : "BPF_MAP_TYPE_RINGBUF not supported"}};
  }
}

std::string check_uprobe() {
  Skel skel = load_only("uprobe_target");
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(&kiln_doctor_uprobe_target), &info) || !info.dli_fname) {
    throw Failure{"cannot find the addon's own file to probe"};
  }
  LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = "kiln_doctor_uprobe_target");
  bpf_link* link = bpf_program__attach_uprobe_opts(skel->progs.uprobe_target, getpid(), info.dli_fname, 0, &opts);
  if (!link) throw Failure{libbpf_error("attach uprobe", errno)};
  Link owned(link);
  volatile int r = 0;
  for (int i = 0; i < 3; i++) r = r + kiln_doctor_uprobe_target(i);
  __u64 n = hits(skel, HIT_UPROBE);
  if (n < 3) throw Failure{"attached, but fired " + std::to_string(n) + " of 3 calls"};
  return "attached to a function in this process; fired on every call";
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

// The hooks span capture attaches on this kernel, by loading and attaching it as the agent does.
std::string check_span_capture(const ProbeResult& fentry) {
  std::unique_ptr<SpanCapture> capture;
  try {
    capture = std::make_unique<SpanCapture>(SpanCaptureOptions{});
  } catch (const std::exception& e) {
    throw Failure{e.what()};
  }
  std::vector<std::string> syscalls;
  for (const std::string& hook : capture->attached()) {
    const std::string name = hook.substr(hook.find(':') + 1);
    if (name.rfind("sys_enter_", 0) == 0) syscalls.push_back(name.substr(10));
  }
  std::string detail = std::to_string(capture->attached().size()) + " syscall tracepoints (entry+exit: " + join(syscalls, ", ") + ")";
  if (!capture->missing().empty()) detail += "; not attached: " + join(capture->missing(), "; ");
  detail += fentry.ok ? "; fentry allowed, the tracepoints used" : "; fentry refused (see its row)";
  return detail;
}

// "tp_btf: sched_wakeup, sched_switch" from hooks named "tp_btf/sched_wakeup", …, grouped by kind.
std::string describe_hooks(const std::vector<std::string>& hooks) {
  std::vector<std::string> kinds;
  std::vector<std::vector<std::string>> names;
  for (const std::string& hook : hooks) {
    const size_t slash = hook.find('/');
    const std::string kind = hook.substr(0, slash), name = hook.substr(slash + 1);
    size_t i = 0;
    while (i < kinds.size() && kinds[i] != kind) i++;
    if (i == kinds.size()) {
      kinds.push_back(kind);
      names.emplace_back();
    }
    names[i].push_back(name);
  }
  std::vector<std::string> parts;
  for (size_t i = 0; i < kinds.size(); i++) parts.push_back(kinds[i] + ": " + join(names[i], ", "));
  return join(parts, "; ");
}

// The hooks the scheduler probe attaches on this kernel, and how it tells throttling, by loading it as the agent does.
std::string check_sched_probe() {
  std::unique_ptr<SchedCapture> capture;
  try {
    capture = std::make_unique<SchedCapture>(SchedCaptureOptions{});
  } catch (const std::exception& e) {
    throw Failure{e.what()};
  }
  std::string detail = describe_hooks(capture->attached()) + "; throttled waits from " + capture->throttle_source();
  if (!capture->missing().empty()) detail += "; not attached: " + join(capture->missing(), "; ");
  return detail;
}

// The hooks the retransmit probe attaches on this kernel, by loading it as the agent does.
std::string check_retransmit_probe() {
  std::unique_ptr<RetransmitCapture> capture;
  try {
    capture = std::make_unique<RetransmitCapture>(4096);
  } catch (const std::exception& e) {
    throw Failure{e.what()};
  }
  std::string detail = describe_hooks(capture->attached());
  if (!capture->missing().empty()) detail += "; not attached: " + join(capture->missing(), "; ");
  return detail;
}

}  // namespace

ProbeResult probe_fentry() {
  return probe("fentry", [] { return check_tracepoint_hits("fentry_tcp_sendmsg", HIT_FENTRY, false); });
}

std::vector<ProbeResult> run_doctor_probes() {
  std::vector<ProbeResult> results;
  results.push_back(probe("BTF", check_btf));
  results.push_back(probe("tracefs", ensure_tracefs));
  results.push_back(probe("perf events (cpu-clock)", check_cpu_clock));
  RingResult ring = check_syscalls_and_ringbuf();
  results.push_back(ring.ringbuf);
  results.push_back(probe("tracepoint sched:sched_switch", [] { return check_tracepoint_hits("sched_switch", HIT_SCHED_SWITCH, true); }));
  results.push_back(probe("tracepoint tcp:tcp_retransmit_skb", [] { return check_tracepoint_hits("tcp_retransmit", HIT_RETRANSMIT, false); }));
  results.push_back(ring.tracepoint);
  results.push_back(probe("tp_btf", [] { return check_tracepoint_hits("sched_switch_btf", HIT_TP_BTF, true); }));
  results.push_back(probe("uprobes", check_uprobe));
  ProbeResult fentry = probe_fentry();
  results.push_back(fentry);
  results.push_back(probe("span capture", [&] { return check_span_capture(fentry); }));
  results.push_back(probe("scheduler probe", check_sched_probe));
  results.push_back(probe("retransmit probe", check_retransmit_probe));
  // libbpf parsed the kernel's BTF once per skeleton (megabytes, freed in pieces): hand the
  // free pages back, or they stay resident in this thread's malloc arena for the agent's life.
  malloc_trim(0);
  return results;
}

std::vector<ProbeResult> run_startup_checks() {
  std::vector<ProbeResult> results;
  results.push_back(probe("BTF", check_btf_present));
  // Mounted if missing: the sampler's classic-tracepoint fallback (no tp_btf) resolves through it.
  results.push_back(probe("tracefs", ensure_tracefs));
  results.push_back(probe("perf events (cpu-clock)", check_cpu_clock_opens));
  return results;
}

}  // namespace kiln
