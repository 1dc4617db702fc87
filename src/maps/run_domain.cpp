#include "maps/run_domain.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>

#include "bpfbox/maps.hpp"

namespace bpfbox::maps {

namespace {

constexpr uint32_t kDomainVersion = 1;
constexpr uint64_t kReaping = ~uint64_t(0);  // owner word while a dead owner's slot is cleared
constexpr uint32_t kReapEvery = 256;         // waits between looks for dead owners

// A process start time (clock ticks since boot, /proc/PID/stat field 22) and whether the
// process is a zombie; false if it cannot be read.
bool read_proc_stat(pid_t pid, uint64_t* start, bool* zombie) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');  // the command name may hold spaces and parentheses
  if (!p || p[1] != ' ') return false;
  p += 2;
  *zombie = *p == 'Z' || *p == 'X';
  for (int field = 3; field < 22; ++field) {
    p = std::strchr(p, ' ');
    if (!p) return false;
    ++p;
  }
  *start = std::strtoull(p, nullptr, 10);
  return true;
}

// This process as a slot owner: pid in the low half, the low 32 bits of its start time in the
// high half (so a reused pid is a different owner). Reset in forked children.
std::atomic<uint64_t> g_token{0};

uint64_t owner_token() {
  uint64_t t = g_token.load(std::memory_order_relaxed);
  if (t) return t;
  static std::once_flag atfork;
  std::call_once(atfork, [] {
    pthread_atfork(nullptr, nullptr, [] { g_token.store(0, std::memory_order_relaxed); });
  });
  pid_t pid = getpid();
  uint64_t start = 0;
  bool zombie = false;
  read_proc_stat(pid, &start, &zombie);
  t = (uint64_t(uint32_t(start)) << 32) | uint32_t(pid);
  g_token.store(t, std::memory_order_relaxed);
  return t;
}

bool owner_alive(uint64_t token) {
  pid_t pid = static_cast<pid_t>(token & 0xffffffffu);
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  uint64_t start = 0;
  bool zombie = false;
  if (!read_proc_stat(pid, &start, &zombie)) return true;  // another pid namespace: assume alive
  return !zombie && uint32_t(start) == uint32_t(token >> 32);
}

void backoff(uint32_t spins) {
  if (spins < 64) {
    __builtin_ia32_pause();
  } else {
    sched_yield();  // more runs than CPUs: wait for one to end, as a task waits for a CPU
  }
}

// The process's domain and the ones it used before (kept: a RunSlot may still point at one).
std::mutex g_mu;
// Never destroyed, so the domains stay reachable at exit (LeakSanitizer) and after static teardown.
std::map<std::string, RunDomain*>& g_domains = *new std::map<std::string, RunDomain*>();  // by dir
std::atomic<RunDomain*> g_current{nullptr};
std::string g_current_dir;
std::atomic<int64_t> g_live_maps{0};

Result<RunDomain*> domain_for_locked(const std::string& dir) {
  auto it = g_domains.find(dir);
  if (it != g_domains.end()) return it->second;
  auto d = dir.empty() ? RunDomain::create_memfd(nr_possible_cpus())
                       : RunDomain::open_dir(dir, nr_possible_cpus());
  if (!d) return d.status();
  g_domains[dir] = *d;
  return *d;
}

}  // namespace

void note_map_alive(int delta) {
  g_live_maps.fetch_add(delta, std::memory_order_relaxed);
}

void RunDomain::init(Shared* s, uint32_t nr_slots) {
  new (s) Shared();
  s->version = kDomainVersion;
  s->nr_slots = nr_slots;
  while (getrandom(&s->id, sizeof s->id, 0) != sizeof s->id) {
  }
  s->epoch.store(1, std::memory_order_relaxed);
  for (uint32_t i = 1; i < nr_slots; ++i) new (&s->slots[i]) Slot();
  s->magic.store(Shared::kMagic, std::memory_order_release);
}

Result<RunDomain*> RunDomain::create_memfd(uint32_t nr_slots) {
  auto arena = Arena::create("bpfbox-run-domain", bytes(nr_slots));
  if (!arena) return arena.status();
  auto* d = new RunDomain();
  d->arena_ = *arena;
  d->shared_ = reinterpret_cast<Shared*>(d->arena_.base);
  d->nr_slots_ = nr_slots;
  init(d->shared_, nr_slots);
  return d;
}

Result<RunDomain*> RunDomain::open_dir(const std::string& dir, uint32_t nr_slots) {
  std::string path = dir + "/.bpfbox-run-domain";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    int e = errno;
    return Status(e, "run domain " + path + ": " + std::strerror(e));
  }
  // The first process to lock an empty file lays it out; the others find it ready.
  while (flock(fd, LOCK_EX) != 0 && errno == EINTR) {
  }
  struct stat st;
  bool fresh = fstat(fd, &st) == 0 && st.st_size == 0;
  if (fresh && ftruncate(fd, static_cast<off_t>(round_up(bytes(nr_slots), kPageSize))) != 0) {
    int e = errno;
    close(fd);
    return Status(e, "run domain " + path + ": " + std::strerror(e));
  }
  auto arena = Arena::attach(fd);
  if (!arena) {
    close(fd);
    return arena.status();
  }
  auto* s = reinterpret_cast<Shared*>(arena->base);
  if (fresh) init(s, nr_slots);
  flock(fd, LOCK_UN);
  close(fd);
  if (s->magic.load(std::memory_order_acquire) != Shared::kMagic || s->version != kDomainVersion ||
      s->nr_slots == 0 || bytes(s->nr_slots) > arena->size) {
    arena->release();
    return Status(EINVAL, path + " is not a bpfbox run domain of this version");
  }
  auto* d = new RunDomain();
  d->arena_ = *arena;
  d->shared_ = s;
  d->nr_slots_ = s->nr_slots;
  return d;
}

RunDomain::~RunDomain() {
  arena_.release();
}

RunDomain& RunDomain::process() {
  if (RunDomain* d = g_current.load(std::memory_order_acquire)) return *d;
  std::lock_guard g(g_mu);
  if (RunDomain* d = g_current.load(std::memory_order_acquire)) return *d;
  std::string dir = storage_dir();
  auto d = domain_for_locked(dir);
  if (!d) {
    std::fprintf(stderr, "bpfbox: cannot set up the run domain: %s\n",
                 d.status().message().c_str());
    std::abort();
  }
  g_current_dir = dir;
  g_current.store(*d, std::memory_order_release);
  return **d;
}

Status set_storage_dir(const std::string& dir) {
  std::string canon;
  if (!dir.empty()) {
    char* real = realpath(dir.c_str(), nullptr);
    if (!real) {
      int e = errno;
      return Status(e, "map storage directory " + dir + ": " + std::strerror(e));
    }
    canon = real;
    std::free(real);
    if (Status st = check_storage_dir(canon); !st) return st;
  }
  std::lock_guard g(g_mu);
  RunDomain* cur = g_current.load(std::memory_order_acquire);
  if (cur && canon != g_current_dir && g_live_maps.load(std::memory_order_relaxed) > 0)
    return Status(EBUSY,
                  "maps exist in this process: the storage directory (and with it the run "
                  "domain shared with other processes) can change only when none is alive");
  auto d = domain_for_locked(canon);
  if (!d) return d.status();
  set_storage_path(canon);
  g_current_dir = canon;
  g_current.store(*d, std::memory_order_release);
  return Status::ok();
}

uint32_t RunDomain::acquire() {
  const uint64_t me = owner_token();
  thread_local uint32_t hint = 0;  // prefer the slot this thread had: its per-CPU data is warm
  for (uint32_t spins = 0;; ++spins) {
    for (uint32_t k = 0; k < nr_slots_; ++k) {
      uint32_t i = (hint + k) % nr_slots_;
      Slot& s = shared_->slots[i];
      uint64_t expected = 0;
      if (s.owner.load(std::memory_order_relaxed) == 0 &&
          s.owner.compare_exchange_strong(expected, me, std::memory_order_seq_cst)) {
        // Announce after owning the slot: until then the slot reads as free, which is right, as
        // this run has not read any map yet.
        s.word.store(shared_->epoch.load(std::memory_order_seq_cst), std::memory_order_seq_cst);
        hint = i;
        return i;
      }
    }
    backoff(spins);
    if (spins % kReapEvery == kReapEvery - 1) reap_dead_owners();
  }
}

void RunDomain::release(uint32_t slot) {
  Slot& s = shared_->slots[slot];
  s.word.store(0, std::memory_order_seq_cst);
  s.owner.store(0, std::memory_order_release);
}

uint32_t RunDomain::reap_dead_owners() {
  const uint64_t me = owner_token();
  uint32_t reaped = 0;
  for (uint32_t i = 0; i < nr_slots_; ++i) {
    Slot& s = shared_->slots[i];
    uint64_t o = s.owner.load(std::memory_order_acquire);
    if (o == 0 || o == kReaping || o == me || owner_alive(o)) continue;
    // One reaper wins the owner word; while it reads kReaping nobody can take the slot.
    if (!s.owner.compare_exchange_strong(o, kReaping, std::memory_order_acq_rel)) continue;
    s.word.store(0, std::memory_order_seq_cst);
    s.owner.store(0, std::memory_order_release);
    ++reaped;
  }
  return reaped;
}

void RunDomain::advance_past(uint64_t tag) {
  uint64_t e = shared_->epoch.load(std::memory_order_seq_cst);
  while (e <= tag && !shared_->epoch.compare_exchange_weak(e, tag + 1, std::memory_order_seq_cst)) {
  }
}

uint64_t RunDomain::reusable_below() const {
  uint64_t min = UINT64_MAX;
  for (uint32_t i = 0; i < nr_slots_; ++i) {
    uint64_t w = shared_->slots[i].word.load(std::memory_order_seq_cst);
    if (w != 0 && w < min) min = w;
  }
  return min;
}

void RunDomain::synchronize(uint64_t tag) {
  advance_past(tag);
  for (uint32_t spins = 0; reusable_below() <= tag; ++spins) {
    backoff(spins);
    if (spins % kReapEvery == kReapEvery - 1) reap_dead_owners();
  }
}

namespace {
thread_local int32_t tls_slot = -1;
}  // namespace

int32_t RunDomain::current_slot() {
  return tls_slot;
}

RunSlot::RunSlot() : RunSlot(RunDomain::process()) {}
RunSlot::RunSlot(RunDomain& domain) : domain_(&domain), cpu_(domain.acquire()), outer_(tls_slot) {
  tls_slot = static_cast<int32_t>(cpu_);
}
RunSlot::~RunSlot() {
  tls_slot = outer_;
  domain_->release(cpu_);
}

}  // namespace bpfbox::maps
