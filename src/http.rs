//! What the HTTP clients (GitHub, the Supabase Management API) share: the one retry
//! loop (a bounded number of tries, waiting twice as long each time, and never less than
//! the API itself asks — `retry-after`, a rate limit's reset — up to a cap), and the one
//! scrubber that keeps a token out of any text an error shows.

use std::fmt::Display;
use std::time::Duration;

/// Texts quoted from an API are cut to this many characters (a proxy's HTML page can be
/// long).
pub const MESSAGE_CHARS: usize = 300;

/// What one try ended with, when it gave no answer.
pub enum Failure<E> {
    /// Worth another try; `wait` is what the API asked for, if anything.
    Retry {
        error: E,
        wait: Option<Duration>,
    },
    Fatal(E),
}

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

    /// Runs `try_once` until it gives an answer or a fatal error, or the tries run out.
    pub async fn run<T, E: Display, Try: Future<Output = Result<T, Failure<E>>>>(
        &self,
        mut try_once: impl FnMut() -> Try,
    ) -> Result<T, E> {
        let mut attempt = 1;
        loop {
            match try_once().await {
                Ok(answer) => return Ok(answer),
                Err(Failure::Retry { error, wait }) if attempt < self.attempts => {
                    let delay = self.delay(attempt, wait);
                    tracing::warn!("{error}; retrying in {} ms", delay.as_millis());
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(Failure::Retry { error, .. } | Failure::Fatal(error)) => return Err(error),
            }
        }
    }
}

/// `text` as it may be shown in a one-line error: `secret` replaced by `***`, on one
/// line, at most 300 characters.
pub fn scrub(text: &str, secret: &str) -> String {
    let text = if secret.is_empty() {
        text.to_string()
    } else {
        text.replace(secret, "***")
    };
    let mut line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some((cut, _)) = line.char_indices().nth(MESSAGE_CHARS) {
        line.truncate(cut);
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubbed_texts_hide_the_secret_and_stay_short() {
        assert_eq!(
            scrub("echo:\n  Authorization: Bearer s3cr3t", "s3cr3t"),
            "echo: Authorization: Bearer ***"
        );
        assert_eq!(
            scrub(&"é".repeat(1000), "x").chars().count(),
            MESSAGE_CHARS + 1
        );
        assert_eq!(scrub("a  b", ""), "a b");
    }

    #[tokio::test]
    async fn the_loop_retries_what_may_be_retried_and_stops_at_the_last_try() {
        let policy = RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(50),
        };
        let tries = std::cell::Cell::new(0);
        let result: Result<(), String> = policy
            .run(|| async {
                tries.set(tries.get() + 1);
                Err(Failure::Retry {
                    error: format!("try {}", tries.get()),
                    wait: None,
                })
            })
            .await;
        assert_eq!(result, Err("try 3".to_string()));
        tries.set(0);
        let result: Result<(), String> = policy
            .run(|| async {
                tries.set(tries.get() + 1);
                Err(Failure::Fatal("no".to_string()))
            })
            .await;
        assert_eq!((result, tries.get()), (Err("no".to_string()), 1));
    }

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
