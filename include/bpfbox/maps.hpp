// eBPF maps in user space, with the kernel's semantics (kernel/bpf/{arraymap,hashtab,...}.c).
//
// Design
// ------
// * A Map is created from the map_create fields of `union bpf_attr` (Map::create(attr)), so the
//   bpf() layer passes BPF_MAP_CREATE's attr straight through. Generic checks (name, access flags,
//   map_extra) happen in map.cpp as syscall.c does them; each type then checks its own attributes.
// * Each map type is a MapOps table (src/maps/map_ops.hpp, like the kernel's bpf_map_ops), one
//   file per map family, registered in one table indexed by BPF_MAP_TYPE_* (map_types.cpp).
//   Kernel-object types (SOCKMAP, CGROUP_*, *_STORAGE, STRUCT_OPS, ARENA, STACK_TRACE, ...) have a
//   table that refuses creation with EINVAL and a message saying why.
// * Storage is shareable: every map lives in one Arena, a file mapped MAP_SHARED (pages are
//   allocated on first touch): a memfd by default, or an unnamed O_TMPFILE file in the directory
//   set_storage_dir() names, which link_storage() can give a name so that the map outlives its
//   processes (pinning). The arena starts with a MapHeader (attributes, frozen flag) and holds
//   the type's layout, linked by element indices and offsets, never raw pointers;
//   Map::attach(fd) rebuilds a Map over the same memory in another process, from either kind of
//   file. Locks in the arena are plain atomic words, so they work across processes.
// * Two sides, as in the kernel. The syscall side (lookup/update/delete/get_next_key/... with byte
//   buffers, per-CPU values as nr_possible_cpus slots of round_up(value_size, 8) bytes) returns a
//   Status with the kernel's errno and applies the fd permission rules (BPF_F_RDONLY/WRONLY,
//   freeze). The program side (what the bpf_map_*_elem helpers call) is a set of plain function
//   pointers copied into the Map at creation: engines call `map->prog().lookup(map, key, cpu)`
//   directly (the JIT can bake the pointer into the call), or inline array lookups from
//   inline_array(). No virtual calls on either side.
// * Runs and reclamation: a program run holds a RunSlot. The slot is the run's CPU
//   (RunContext::cpu; no two concurrent runs share one, so per-CPU values need no atomics) and its
//   epoch announcement, taken with one compare-and-swap. Lookups are lock-free; an element
//   unlinked by a delete, replace or LRU eviction is retired to its pool and reused only once every
//   run that was active when it was unlinked has ended, so a value pointer a run holds stays valid
//   (and unchanged by others' replaces) until the run ends. Updates take per-bucket locks. A
//   replace links the new element before unlinking the old one, and a per-bucket replace counter
//   makes a lock-free lookup that raced with it look again, so a key being replaced never looks
//   absent. Syscall-side readers take the bucket lock instead of a slot. The slots and the epoch
//   live in a shareable RunDomain: the storage directory's, shared by every process using it
//   (a memfd shared with forked children by default), so that runs anywhere hold back
//   reclamation everywhere; slots of processes that died in a run are taken back.
// * Allocation never fails spuriously: pools hold max_entries plus slack (address space only),
//   reuse retired elements before fresh pages, and keep a reserve for the oldest run; anyone else
//   who finds only the reserve waits for older runs to end. The oldest run never waits, so there
//   is no cycle. E2BIG means max_entries live elements, as in the kernel.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <linux/bpf.h>

#include "bpfbox/status.hpp"
#include "bpfbox/vm.hpp"

namespace bpfbox::maps {

// The kernel-internal errno that bpf() lets through for unsupported operations.
constexpr int kENOTSUPP = 524;

// What libbpf's libbpf_num_possible_cpus() returns: the count in /sys/devices/system/cpu/possible.
uint32_t nr_possible_cpus();

// ---------------------------------------------------------------------------------------------
// Runs: CPU slots and epochs.

class RunDomain;

// A run's CPU slot and epoch announcement; hold one for the whole run (RAII). A thread keeps
// its slot between runs (a lease), so entering a run is one compare-and-swap on a cache line only
// that thread writes, and leaving is one store; a thread that finds every slot leased takes one
// whose holder is not in a run. A RunSlot nested in another on the same thread shares its slot
// (the same CPU, as a program the kernel runs inside another).
class RunSlot {
 public:
  RunSlot();  // the process's RunDomain; waits while all nr_possible_cpus slots are in runs
  explicit RunSlot(RunDomain& domain);
  ~RunSlot();
  RunSlot(const RunSlot&) = delete;
  RunSlot& operator=(const RunSlot&) = delete;
  uint32_t cpu() const { return cpu_; }  // goes into RunContext::cpu

 private:
  RunDomain* domain_;
  uint32_t cpu_;
  uint32_t mode_;           // how it was entered (run_domain.cpp)
  uint64_t own_lease_ = 0;  // a lease this RunSlot took for itself (nested in another domain)
};

// ---------------------------------------------------------------------------------------------
// Storage.

// Where maps created from now on keep their storage: "" (the default) for memfds, else a
// directory (on a file system with O_TMPFILE: tmpfs, ext4, xfs, btrfs) where each map is an
// unnamed file that link_storage() can name. The directory also holds the run domain
// (`.bpfbox-run-domain`: CPU slots and epochs) of every process using it, so that a run in any of
// them keeps the values it looked up until it ends, whoever deletes them; a process that attaches
// a map of a directory joins that directory (as if it had called this). With memfds the domain
// is shared only with forked children. The domain of a process changes only while no map is
// alive in it: EBUSY otherwise. Other errors: the directory's errno.
Status set_storage_dir(const std::string& dir);

class Map;

// Gives a map's storage file the name `path` (in the storage directory's file system), so it
// survives the map's last fd: open(path, O_RDWR) and Map::attach() find the same map, with its
// contents, in any process. linkat's errno (EEXIST when path exists, EXDEV across file systems;
// a memfd cannot be linked). Unlinking the name is the caller's business (unlink(2)).
Status link_storage(const Map& map, const std::string& path);

// ---------------------------------------------------------------------------------------------
// Maps.

struct MapOps;

// The program side of a map: what the bpf_map_*_elem helpers call, with the run's CPU slot.
// Results as the helpers': a pointer or nullptr, 0 or a negative errno.
struct ProgOps {
  void* (*lookup)(Map* map, const void* key, uint32_t cpu) = nullptr;
  long (*update)(Map* map, const void* key, const void* value, uint64_t flags,
                 uint32_t cpu) = nullptr;
  long (*delete_elem)(Map* map, const void* key, uint32_t cpu) = nullptr;
  long (*push)(Map* map, const void* value, uint64_t flags, uint32_t cpu) = nullptr;
  long (*pop)(Map* map, void* value, uint32_t cpu) = nullptr;
  long (*peek)(Map* map, void* value, uint32_t cpu) = nullptr;
};

// For engines that inline array lookups: elem = base + index * elem_size (+ cpu * cpu_stride for
// PERCPU_ARRAY), valid for index < max_entries.
struct InlineArray {
  uint8_t* base = nullptr;
  uint32_t elem_size = 0;   // round_up(value_size, 8) (times nr_cpus for PERCPU_ARRAY)
  uint32_t cpu_stride = 0;  // 0 for ARRAY, round_up(value_size, 8) for PERCPU_ARRAY
  uint32_t max_entries = 0;
  // Spectre v1: bit_ceil(max_entries) - 1; the storage holds index_mask + 1 elements (zeroed past
  // max_entries), so an index masked with it stays inside even when the bounds check is
  // mispredicted (the kernel's array->index_mask). UINT32_MAX (no padding) past 2^31 entries.
  uint32_t index_mask = 0;
};

// Maps that hold other objects: PROG_ARRAY (prog fds in, prog ids out), ARRAY_OF_MAPS and
// HASH_OF_MAPS (map fds in, map ids out), PERF_EVENT_ARRAY (perf event fds in). The object table
// (src/sys, for real fds) resolves an fd to an ObjectRef and holds one reference on the object
// for the map until the map drops it. The map stores ids in its arena (shareable, no pointers) and
// keeps the ObjectRef in process-local memory for the program side. A reference replaced or
// deleted is dropped only once every run that might still use the object has ended (the run
// epoch, as for hash elements), so a program a tail call reached or an inner map a lookup
// returned stays alive until the run ends; map destruction drops the rest, so the table must
// outlive the maps created with it.
class PerfEventRing;

enum class ObjectKind : uint8_t { Prog, Map, PerfEvent };

struct ObjectRef {
  ObjectKind kind = ObjectKind::Prog;
  uint32_t id = 0;  // what syscall-side lookups return (prog id, map id)
  // Prog: its BPF_PROG_TYPE_* (PROG_ARRAY's owner check) and what bpf_tail_call runs.
  uint32_t prog_type = 0;
  const vm::Executable* exec = nullptr;
  Map* map = nullptr;             // Map: the map (bpf_map_lookup_elem on a map-in-map returns it)
  PerfEventRing* perf = nullptr;  // PerfEvent: the event's ring
};

class ObjectTable {
 public:
  virtual ~ObjectTable() = default;
  // The object behind fd, with a reference held for the map. The kernel's errno: EBADF when fd
  // is not open, EINVAL (programs, maps) or EBADF (perf events) when it is another kind of file.
  virtual Result<ObjectRef> ref_prog_fd(int fd) = 0;
  virtual Result<ObjectRef> ref_map_fd(int fd) = 0;
  virtual Result<ObjectRef> ref_perf_event_fd(int fd) = 0;
  // The object with this id (ObjectKind::Prog: a prog id, ObjectKind::Map: a map id), with a
  // reference held for the map: how a process attaching a map that holds objects (Map::attach of
  // a pinned PROG_ARRAY, ARRAY_OF_MAPS or HASH_OF_MAPS) gets the objects another process stored,
  // as the arena keeps only their ids; also called from inside a run (a lookup or tail call
  // reaching a slot another process changed), so it must not wait for runs to end. ENOENT when
  // the object is gone (the slot then stays empty to this process's programs). The default
  // resolves nothing.
  virtual Result<ObjectRef> ref_id(ObjectKind kind, uint32_t id) {
    (void)kind;
    return Status(ENOENT, "object id " + std::to_string(id) + " cannot be resolved here");
  }
  // Drops a reference one of the ref_* calls returned.
  virtual void unref(const ObjectRef& ref) = 0;
};

// Extra creation inputs the bpf() layer derives from BTF and fds.
struct CreateOptions {
  int32_t spin_lock_off = -1;  // offset of a struct bpf_spin_lock in the value (from BTF), or -1
  ObjectTable* objects = nullptr;  // for fd-holding map types
};

// A region of the arena user space may mmap (BPF_F_MMAPABLE arrays, ring buffers).
struct MmapRegion {
  int memfd = -1;       // the storage fd (a memfd or a storage file)
  uint64_t offset = 0;  // page-aligned offset in the memfd
  uint64_t size = 0;
};

class Map {
 public:
  // BPF_MAP_CREATE: the map_create fields of attr (map_type .. map_extra).
  static Result<std::shared_ptr<Map>> create(const union bpf_attr& attr,
                                             const CreateOptions& opts = {});
  // A Map over an existing map's arena: another process's memfd, or a storage file (from
  // open(2) of a name link_storage() gave, O_RDWR). Maps holding objects answer syscall-side
  // lookups from the arena's ids; their program side gets the objects behind the ids the arena
  // holds at attach through `objects->ref_id()`, and those of slots another process changes
  // later when a program first reaches them (perf event arrays: none).
  static Result<std::shared_ptr<Map>> attach(int memfd, ObjectTable* objects = nullptr);
  ~Map();
  Map(const Map&) = delete;
  Map& operator=(const Map&) = delete;

  uint32_t type() const { return type_; }
  uint32_t key_size() const { return key_size_; }
  uint32_t value_size() const { return value_size_; }
  uint32_t max_entries() const { return max_entries_; }
  uint32_t map_flags() const { return map_flags_; }
  uint64_t map_extra() const { return map_extra_; }
  const char* name() const { return name_; }
  bool percpu() const { return percpu_; }
  uint32_t nr_cpus() const { return nr_cpus_; }
  // The bytes a syscall-side value buffer holds: value_size, or round_up(value_size, 8) * nr_cpus
  // for per-CPU maps.
  uint32_t value_copy_size() const;

  // Syscall side (BPF_MAP_*), with the kernel's errno and fd permission rules.
  Status lookup(const void* key, void* value, uint64_t flags = 0);
  Status update(const void* key, const void* value, uint64_t flags = 0);
  Status delete_elem(const void* key);
  Status get_next_key(const void* key, void* next_key);  // key may be nullptr: the first key
  Status lookup_and_delete(const void* key, void* value, uint64_t flags = 0);
  // BPF_MAP_FREEZE: EBUSY while a writable mapping exists (the kernel's map->writecnt).
  Status freeze();
  bool frozen() const;
  // A writable mmap of the map (BPF_F_MMAPABLE array, ring buffer consumer page) exists from a
  // successful acquire to its release, as the kernel counts VM_WRITE mappings: EPERM after
  // freeze, EACCES for BPF_F_RDONLY_PROG maps. Counted in the arena, so across processes.
  Status acquire_writable_mapping();
  void release_writable_mapping();
  // BPF_MAP_{LOOKUP,LOOKUP_AND_DELETE,UPDATE,DELETE}_BATCH, as the kernel per family (ENOTSUPP for
  // families without them). The cursor (in_batch, nullptr to start; out_batch) is the family's:
  // hash maps a u32 bucket index (a bucket that does not fit in what is left of count ends the
  // batch, ENOSPC when nothing fit), other families a key (arrays: the u32 index) walked with
  // get_next_key. count is in/out as attr.batch.count; flags is attr.batch.flags.
  Status lookup_batch(const void* in_batch, void* out_batch, void* keys, void* values,
                      uint32_t* count, uint64_t elem_flags = 0, bool and_delete = false,
                      uint64_t flags = 0);
  // The bytes of in_batch/out_batch for this map: 4 (the u32 bucket index) for the hash family
  // and HASH_OF_MAPS, key_size for the generic key cursor (arrays, LPM_TRIE, ...).
  uint32_t batch_cursor_size() const;
  Status update_batch(const void* keys, const void* values, uint32_t* count,
                      uint64_t elem_flags = 0);
  Status delete_batch(const void* keys, uint32_t* count, uint64_t elem_flags = 0);

  // PROG_ARRAY: whether a program of this type may use the map (and be stored in it), as the
  // kernel's bpf_prog_map_compatible: the first program (loaded using the map, or stored in it)
  // fixes the owner type. EINVAL otherwise. `jited` is recorded with the owner but not compared:
  // the kernel refuses to mix JITed and interpreted programs because their tail calls differ;
  // bpfbox's engines share one calling convention.
  Status prog_array_compatible(uint32_t prog_type, bool jited = true);
  // PROG_ARRAY: the owner prog_array_compatible() recorded (the kernel's map->owner, shown by
  // fdinfo as owner_prog_type and owner_jited); nullopt before a program bound the map.
  struct ProgArrayOwner {
    uint32_t prog_type = 0;
    bool jited = false;
  };
  std::optional<ProgArrayOwner> prog_array_owner() const;
  ObjectTable* objects() const { return objects_; }

  // Program side.
  const ProgOps& prog() const { return prog_; }
  void* prog_lookup(const void* key, uint32_t cpu) { return prog_.lookup(this, key, cpu); }
  long prog_update(const void* key, const void* value, uint64_t flags, uint32_t cpu) {
    return prog_.update(this, key, value, flags, cpu);
  }
  long prog_delete(const void* key, uint32_t cpu) { return prog_.delete_elem(this, key, cpu); }

  // For the verifier and engines.
  bool prog_may_read() const { return !(map_flags_ & BPF_F_WRONLY_PROG); }
  bool prog_may_write() const { return !(map_flags_ & BPF_F_RDONLY_PROG); }
  const InlineArray* inline_array() const { return inline_.base ? &inline_ : nullptr; }
  int32_t spin_lock_off() const { return spin_lock_off_; }
  // ARRAY_OF_MAPS, HASH_OF_MAPS: the inner map template (the kernel's map->inner_map_meta from
  // bpf_map_meta_alloc): the type, key and value size, flags, max_entries and spin lock of the
  // map inner_map_fd named, unnamed and without storage. The verifier types a non-null lookup
  // result of the outer map as a CONST_PTR_TO_MAP of it; every inner map stored matches it. It is
  // never a map to run against: an engine must not take its address, inline lookups from it or
  // call its program side (stubs). nullptr for other maps.
  const Map* inner_map_meta() const { return inner_meta_.get(); }
  bool is_inner_map_meta() const { return base_ == nullptr; }
  // An ARRAY's element layout, also for an inner template (whose base is nullptr): what a lookup
  // in any inner array of the template needs besides that array's base, which sits at
  // inline_base_offset() in every Map (the kernel's inlined inner lookup starts from r1 too).
  const InlineArray& inline_layout() const { return inline_; }
  static uint32_t inline_base_offset();

  // Storage: the arena's fd (a memfd, or a file in the storage directory).
  int memfd() const;
  uint64_t arena_size() const;
  Result<MmapRegion> mmap_region() const;

  // Implementation access for the map families (src/maps).
  const MapOps& ops() const { return *ops_; }
  uint8_t* arena_base() const { return base_; }
  void* impl = nullptr;  // the family's cached pointers into the arena (process-local)
  void* held = nullptr;  // maps holding objects: their process-local references (held_objects)

 private:
  Map() = default;
  friend struct MapBuilder;

  const MapOps* ops_ = nullptr;
  ProgOps prog_;
  InlineArray inline_;
  uint32_t type_ = 0, key_size_ = 0, value_size_ = 0, max_entries_ = 0, map_flags_ = 0;
  uint64_t map_extra_ = 0;
  char name_[BPF_OBJ_NAME_LEN] = {};
  bool percpu_ = false;
  uint32_t nr_cpus_ = 1;
  int32_t spin_lock_off_ = -1;
  int memfd_ = -1;
  uint64_t arena_size_ = 0;
  uint8_t* base_ = nullptr;
  ObjectTable* objects_ = nullptr;
  std::unique_ptr<Map> inner_meta_;  // map-in-maps: the inner map template
  bool alive_ = false;  // counted in the process's live maps (the run domain may not change)
};

// BPF_MAP_TYPE_RINGBUF's program side: the bpf_ringbuf_* helpers.
namespace ringbuf {
void* reserve(Map* map, uint64_t size, uint64_t flags);  // nullptr when full or size is bad
void submit(void* sample, uint64_t flags);
void discard(void* sample, uint64_t flags);
long output(Map* map, const void* data, uint64_t size, uint64_t flags);  // 0, -EAGAIN, -EINVAL
uint64_t query(Map* map, uint64_t flags);  // BPF_RB_AVAIL_DATA, RING_SIZE, CONS_POS, PROD_POS
// A notification fd (an eventfd, non-blocking) that becomes readable when the kernel would wake
// the ring's consumer: a submit that finds the consumer caught up with its record (the ring was
// empty), unless BPF_RB_NO_WAKEUP; always with BPF_RB_FORCE_WAKEUP. The consumer reads it to
// rearm. Process-local; -1 if it could not be created.
int wakeup_fd(const Map* map);
}  // namespace ringbuf

// BPF_MAP_TYPE_PROG_ARRAY's tail-call lookup (vm::TailCallLookup): the program in slot `index` of
// the PROG_ARRAY `map` at this moment, nullptr when empty or out of range. Lock-free; the program
// stays alive until the calling run ends (its RunSlot).
const vm::Executable* prog_array_lookup(void* map, uint32_t index);
// Its vm::TailCallSlotFn: where slot `index` of the PROG_ARRAY `map` is kept, for engines that read
// it inline at a tail call with a constant map and index ({} when out of range).
vm::TailCallSlot prog_array_slot(void* map, uint32_t index);

// The user-space ring of a PERF_COUNT_SW_BPF_OUTPUT perf event: a memfd with the kernel's perf
// mmap layout, so a consumer written for the kernel (libbpf's perf_buffer) works on an mmap of
// it: page 0 a struct perf_event_mmap_page (data_head, data_tail, data_offset, data_size), then
// data_pages (a power of two) pages of records. The writer's lock and lost-sample count follow in
// a page the consumer does not map.
class PerfEventRing {
 public:
  // cpu: the CPU the event was opened on (perf_event_open's cpu), -1 for any CPU; id: the event id
  // PERF_RECORD_LOST records carry.
  static Result<std::unique_ptr<PerfEventRing>> create(uint32_t data_pages, int32_t cpu = -1,
                                                       uint64_t id = 0);
  ~PerfEventRing();
  PerfEventRing(const PerfEventRing&) = delete;
  PerfEventRing& operator=(const PerfEventRing&) = delete;

  int memfd() const { return memfd_; }
  uint64_t mmap_size() const;  // (1 + data_pages) pages: what a consumer maps
  int32_t cpu() const { return cpu_; }
  // An eventfd readable after each record (the perf attr wakeup_events = 1 libbpf sets).
  int wakeup_fd() const { return wakeup_fd_; }
  // One PERF_RECORD_SAMPLE with PERF_SAMPLE_RAW (u32 size, the data, zero padding to 8 bytes),
  // preceded by a PERF_RECORD_LOST when samples were lost. -ENOSPC (counting a lost sample) when
  // it does not fit; -E2BIG when the record would exceed a perf header's u16 size.
  long output(const void* data, uint64_t size);
  uint64_t lost() const;  // samples lost and not yet reported
  // Whether the event is enabled (perf_event_open without `disabled`, PERF_EVENT_IOC_ENABLE /
  // DISABLE). bpf_perf_event_output into a disabled event is -EOPNOTSUPP: it is not on any CPU.
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  void set_enabled(bool on) { enabled_.store(on, std::memory_order_relaxed); }
  // Whether a consumer has mapped the event (the kernel's event->rb exists): output into an
  // event nobody mapped is -ENOSPC, as perf_output_begin without a ring buffer. Acquire/release:
  // a writer that sees it mapped sees the pages resize() put in place before.
  bool mapped() const { return mapped_.load(std::memory_order_acquire); }
  void set_mapped(bool on) { mapped_.store(on, std::memory_order_release); }
  // A ring of `data_pages` (0 or a power of two) in place of this one's, empty, while no consumer
  // has mapped it (EBUSY otherwise): the first mmap sets the size, as the kernel's perf_mmap
  // allocates the buffer, also after a PERF_EVENT_ARRAY took the event.
  Status resize(uint32_t data_pages);

 private:
  PerfEventRing() = default;
  std::atomic<bool> enabled_{true};
  std::atomic<bool> mapped_{true};
  int memfd_ = -1;
  int wakeup_fd_ = -1;
  int32_t cpu_ = -1;
  uint64_t id_ = 0;
  uint32_t data_pages_ = 0;
  uint8_t* base_ = nullptr;
};

// bpf_perf_event_output's map side: flags' BPF_F_INDEX_MASK bits pick the slot (BPF_F_CURRENT_CPU:
// the run's cpu). The kernel's errno: -EINVAL for other flag bits, -E2BIG for an index beyond
// max_entries, -ENOENT for an empty slot, -EOPNOTSUPP when the slot's event is disabled or bound
// to another CPU (not "on" this CPU), -ENOSPC when its ring is full or not mapped.
long perf_event_output(Map* map, uint64_t flags, const void* data, uint64_t size, uint32_t cpu);

}  // namespace bpfbox::maps
