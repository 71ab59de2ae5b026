//! The bounded queue of job ids waiting for the worker.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::Notify;

/// First in, first out; `try_push` refuses when `capacity` jobs already wait, so a burst of
/// uploads gets 429s instead of an unbounded backlog.
#[derive(Debug)]
pub struct Queue {
    items: Mutex<VecDeque<String>>,
    notify: Notify,
    capacity: usize,
}

/// The queue already holds its capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

impl Queue {
    /// An empty queue holding at most `capacity` waiting jobs.
    pub fn new(capacity: usize) -> Self {
        Self { items: Mutex::new(VecDeque::new()), notify: Notify::new(), capacity }
    }

    fn items(&self) -> std::sync::MutexGuard<'_, VecDeque<String>> {
        self.items.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// True when a new upload would be refused.
    pub fn is_full(&self) -> bool {
        self.items().len() >= self.capacity
    }

    /// Appends a new job unless the queue is full.
    pub fn try_push(&self, id: String) -> Result<(), QueueFull> {
        let mut items = self.items();
        if items.len() >= self.capacity {
            return Err(QueueFull);
        }
        items.push_back(id);
        drop(items);
        self.notify.notify_one();
        Ok(())
    }

    /// Appends a job recovered after a restart; those were accepted once and are never refused.
    pub fn push_recovered(&self, id: String) {
        self.items().push_back(id);
        self.notify.notify_one();
    }

    /// Jobs waiting now.
    pub fn len(&self) -> usize {
        self.items().len()
    }

    /// True when no job waits.
    pub fn is_empty(&self) -> bool {
        self.items().is_empty()
    }

    /// Waits for the next job.
    pub async fn pop(&self) -> String {
        loop {
            // Register interest before checking, so a push between the check and the wait
            // is not missed.
            let notified = self.notify.notified();
            if let Some(id) = self.items().pop_front() {
                return id;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_fifo() {
        let queue = Queue::new(2);
        queue.try_push("a".into()).unwrap();
        queue.try_push("b".into()).unwrap();
        assert_eq!(queue.try_push("c".into()), Err(QueueFull));
        queue.push_recovered("r".into());
        assert_eq!(queue.pop().await, "a");
        assert_eq!(queue.pop().await, "b");
        assert_eq!(queue.pop().await, "r");
        assert!(queue.is_empty());
    }
}
