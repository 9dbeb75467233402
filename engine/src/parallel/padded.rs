//! A value alone on its cache line. Workers update per-transaction state of
//! neighbouring transactions at the same moment (one runs tx i while the other runs
//! i + 1), and shared counters all the time: sharing a line would make every such
//! update evict the other core's copy (false sharing).

#[repr(align(64))]
#[derive(Default)]
pub struct CachePadded<T>(pub T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
