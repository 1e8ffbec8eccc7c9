//! How the HTTP clients (GitHub, the Supabase Management API) retry a failed request:
//! a bounded number of tries, waiting twice as long each time, and never less than the
//! API itself asks (`retry-after`, a rate limit's reset), up to a cap.

use std::time::Duration;

/// `attempts` tries in all, waiting `base_delay`, then twice that, and so on; what the
/// API asks for is honoured up to `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The wait before try `attempt + 1`, given the API's own request to wait `asked`.
    pub(crate) fn delay(&self, attempt: u32, asked: Option<Duration>) -> Duration {
        let backoff = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        backoff.max(asked.unwrap_or_default()).min(self.max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_and_are_bounded() {
        let policy = RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(1),
        };
        assert_eq!(policy.delay(1, None), Duration::from_millis(200));
        assert_eq!(policy.delay(2, None), Duration::from_millis(400));
        assert_eq!(policy.delay(4, None), Duration::from_secs(1));
        assert_eq!(
            policy.delay(1, Some(Duration::from_millis(700))),
            Duration::from_millis(700)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(1)
        );
    }
}
