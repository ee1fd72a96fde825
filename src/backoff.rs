//! Exponential backoff between reconnect attempts (the mailbox, the leader lock, the broker):
//! the first wait is `min`, each further one twice the last, never more than `max`; a
//! connection that worked starts over at `min`.

use std::time::Duration;

/// The wait before the next reconnect attempt, doubling up to a ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    /// Starts at `min`; `max` below `min` counts as `min`.
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max: max.max(min),
            current: min,
        }
    }

    /// The wait before the next attempt, without counting it.
    pub fn current(&self) -> Duration {
        self.current
    }

    /// The wait before this attempt; the one after it is twice as long (up to the ceiling).
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.current;
        self.current = self.current.saturating_mul(2).min(self.max);
        wait
    }

    /// Back to the first wait (a connection worked).
    pub fn reset(&mut self) {
        self.current = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_ceiling_and_starts_over_on_reset() {
        let ms = Duration::from_millis;
        let mut backoff = Backoff::new(ms(100), ms(1000));
        let waits: Vec<_> = (0..6).map(|_| backoff.next_wait()).collect();
        assert_eq!(
            waits,
            [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
        assert_eq!(backoff.current(), ms(1000));
        backoff.reset();
        assert_eq!(backoff.next_wait(), ms(100));
        assert_eq!(backoff.current(), ms(200));
    }

    #[test]
    fn a_ceiling_below_the_floor_is_the_floor() {
        let mut backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(1));
        assert_eq!(backoff.next_wait(), Duration::from_secs(2));
        assert_eq!(backoff.next_wait(), Duration::from_secs(2));
    }
}
