/// jemalloc rather than the system's allocator: a gateway's work is many small, short-lived
/// allocations across threads, where it costs a third less CPU a rating (docs/performance.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    ratewire_gateway::cli::run()
}
