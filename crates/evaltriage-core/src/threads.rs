//! The one small thread pool of the workspace: independent blocking jobs (reading and parsing
//! report files, rendering pages) shared out over a few scoped threads, results kept in order.

/// How many threads such work gets: the machine's parallelism, at least 1 and at most 8.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get).clamp(1, 8)
}

/// `f` applied to every item on up to `threads` scoped threads, each taking every n-th item; the
/// results come back in the items' order, so what is made of them does not depend on timing. An
/// item whose thread panicked is `None` (the panic is not carried on).
pub fn map_in_threads<T, R, F>(items: &[T], threads: usize, f: F) -> Vec<Option<R>>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let threads = threads.clamp(1, items.len().max(1));
    let mut slots: Vec<Option<R>> = Vec::new();
    slots.resize_with(items.len(), || None);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || (t..items.len()).step_by(threads).map(|i| (i, f(&items[i]))).collect::<Vec<_>>())
            })
            .collect();
        for handle in handles {
            if let Ok(done) = handle.join() {
                for (i, result) in done {
                    slots[i] = Some(result);
                }
            }
        }
    });
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order_whatever_the_threads() {
        let items: Vec<u32> = (0..100).collect();
        for threads in [0, 1, 3, 8, 500] {
            let out = map_in_threads(&items, threads, |n| n * 2);
            assert_eq!(out, items.iter().map(|n| Some(n * 2)).collect::<Vec<_>>(), "{threads} threads");
        }
        assert!(map_in_threads(&[] as &[u32], 4, |n| *n).is_empty());
        assert!((1..=8).contains(&default_threads()));
    }

    #[test]
    fn a_panicking_job_leaves_its_threads_items_empty() {
        let items: Vec<u32> = (0..6).collect();
        let out = map_in_threads(&items, 2, |n| {
            assert_ne!(*n, 3, "job 3 fails");
            *n
        });
        // Thread 1 took 1, 3 and 5; thread 0 took 0, 2 and 4.
        assert_eq!(out, [Some(0), None, Some(2), None, Some(4), None]);
    }
}
