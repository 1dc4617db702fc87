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
#include "maps/process.hpp"

namespace bpfbox::maps {

namespace {

constexpr uint32_t kDomainVersion = 2;  // 2: leases in the slot words
constexpr uint32_t kReapEvery = 256;    // waits between looks for dead owners

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

// Leases `slot` if its word still reads `expected` (0, or an idle lease), recording this process
// as its holder before any run can be announced in it.
bool RunDomain::take(uint32_t slot, uint64_t expected, uint64_t me, uint64_t* lease) {
  Slot& s = shared_->slots[slot];
  uint64_t mine = kLeased | (s.lease_seq.fetch_add(1, std::memory_order_relaxed) + 1);
  if (!s.word.compare_exchange_strong(expected, mine, std::memory_order_acq_rel)) return false;
  s.owner.store(me, std::memory_order_release);
  *lease = mine;
  return true;
}

uint32_t RunDomain::lease_and_enter(uint32_t hint, uint64_t* lease) {
  const uint64_t me = owner_token();
  for (uint32_t spins = 0;; ++spins) {
    // A free slot first, then one leased to a thread between runs (it takes another next time).
    for (int pass = 0; pass < 2; ++pass) {
      for (uint32_t k = 0; k < nr_slots_; ++k) {
        uint32_t i = (hint + k) % nr_slots_;
        uint64_t w = shared_->slots[i].word.load(std::memory_order_relaxed);
        bool takeable = pass == 0 ? w == 0 : (w & kLeased) != 0;
        if (takeable && take(i, w, me, lease) && try_enter(i, *lease)) return i;
      }
    }
    backoff(spins);
    if (spins % kReapEvery == kReapEvery - 1) reap_dead_owners();
  }
}

void RunDomain::drop_lease(uint32_t slot, uint64_t lease) {
  uint64_t expected = lease;
  shared_->slots[slot].word.compare_exchange_strong(expected, 0, std::memory_order_release,
                                                    std::memory_order_relaxed);
}

// A run whose process died is never left: its word goes back to free. The word (epoch and lease
// number) is compared, so a later run in the slot, of a live process, is never taken.
uint32_t RunDomain::reap_dead_owners() {
  const uint64_t me = owner_token();
  uint32_t reaped = 0;
  for (uint32_t i = 0; i < nr_slots_; ++i) {
    Slot& s = shared_->slots[i];
    uint64_t w = s.word.load(std::memory_order_acquire);
    if (!epoch_of(w)) continue;
    uint64_t o = s.owner.load(std::memory_order_acquire);
    if (o == 0 || o == me || owner_alive(o)) continue;
    if (s.word.compare_exchange_strong(w, 0, std::memory_order_acq_rel)) ++reaped;
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
    uint64_t e = epoch_of(shared_->slots[i].word.load(std::memory_order_seq_cst));
    if (e != 0 && e < min) min = e;
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

// This thread's lease and run depth. Trivially destructible, so the fast path reads it with no
// TLS initialization check; Dropper gives the lease back when the thread exits.
struct ThreadRun {
  RunDomain* domain;  // of the lease
  uint64_t lease;     // 0: none
  uint32_t slot;
  uint32_t depth;  // RunSlots of this thread in the lease's domain, nested
};
thread_local ThreadRun t_run;

struct Dropper {
  ~Dropper() {
    if (t_run.lease && !t_run.depth) t_run.domain->drop_lease(t_run.slot, t_run.lease);
    t_run.lease = 0;
  }
};
thread_local Dropper t_dropper;

void register_drop() {
  Dropper* d = &t_dropper;  // the first use constructs it and registers its destructor
  asm volatile("" : : "r"(d) : "memory");
}

// A forked child's thread is not the parent's: the lease it inherited is the parent's.
void forget_lease_in_child() {
  t_run.lease = 0;
  t_run.domain = nullptr;
}

enum Mode : uint32_t { kLeaseRun, kNested, kOwnLease };

}  // namespace

int32_t RunDomain::current_slot() {
  return t_run.depth ? static_cast<int32_t>(t_run.slot) : -1;
}

RunSlot::RunSlot() : RunSlot(RunDomain::process()) {}

RunSlot::RunSlot(RunDomain& domain) : domain_(&domain), mode_(kLeaseRun) {
  ThreadRun& t = t_run;
  if (t.depth) {
    if (t.domain == &domain) {  // the enclosing run's slot
      ++t.depth;
      cpu_ = t.slot;
      mode_ = kNested;
      return;
    }
    // Inside a run of another domain (the process's domain changed meanwhile): a slot and lease
    // of this RunSlot's own.
    cpu_ = domain.lease_and_enter(0, &own_lease_);
    mode_ = kOwnLease;
    return;
  }
  if (t.lease && t.domain == &domain && domain.try_enter(t.slot, t.lease)) {
    cpu_ = t.slot;
    t.depth = 1;
    return;
  }
  // No lease here yet, or it was taken by a thread that found every slot leased.
  static std::once_flag atfork;
  std::call_once(atfork, [] { pthread_atfork(nullptr, nullptr, forget_lease_in_child); });
  register_drop();
  if (t.lease && t.domain != &domain) t.domain->drop_lease(t.slot, t.lease);
  uint32_t hint = t.domain == &domain ? t.slot : 0;
  t.slot = domain.lease_and_enter(hint, &t.lease);
  t.domain = &domain;
  t.depth = 1;
  cpu_ = t.slot;
}

RunSlot::~RunSlot() {
  ThreadRun& t = t_run;
  switch (mode_) {
    case kNested:
      --t.depth;
      return;
    case kOwnLease:
      domain_->leave(cpu_, own_lease_);
      domain_->drop_lease(cpu_, own_lease_);
      return;
    default:
      t.depth = 0;
      if (t.lease) domain_->leave(cpu_, t.lease);  // none if forked inside the run
  }
}

}  // namespace bpfbox::maps
