//! How to split work over threads on a small CI machine.

/// How many threads to split `items` over: one per `per_thread` items, at
/// most one per core and never more than `cap`.
pub fn worker_threads(items: usize, per_thread: usize, cap: usize) -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, cap.max(1))
        .min(items.div_ceil(per_thread.max(1)).max(1))
}
