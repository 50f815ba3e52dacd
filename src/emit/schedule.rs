//! When scheduled jobs start. A training or batch job with `runs` (or `window =
//! off_peak`) is a CronJob whose schedule, in UTC, spreads its runs over the month; one
//! without either runs once. A job that reads what another job produces (a dataset a
//! batch job writes, a model a training job trains) starts that job's `max_runtime` after
//! it, which the producer's `activeDeadlineSeconds` enforces: on the days both run, the
//! producer has finished or been stopped before its reader starts.

use crate::check::model::{Input, Model, Window};
use std::collections::BTreeMap;

/// A CronJob's schedule and what it means, for the comment above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub cron: String,
    pub note: String,
}

/// The time zone of every schedule (CronJob `timeZone`).
pub const TIME_ZONE: &str = "Etc/UTC";

/// Start hours of the two windows: off-peak time begins at 22:00 (docs/plan.md); other
/// jobs start at 02:00, when interactive use is least.
const OFF_PEAK_START: u64 = 22;
const ANY_START: u64 = 2;

/// A chain of producers longer than this is cut (the graph has no cycles; this bounds the
/// work on a hostile spec).
const MAX_CHAIN: usize = 64;

/// Which job: `("train" | "batch", name)`.
pub type JobRef<'a> = (&'a str, &'a str);

/// The schedule of a job, `None` when it runs once, or why its start cannot follow its
/// producers within its schedule's period (a producer's `max_runtime` pushes it past the
/// week or the month of its runs).
pub fn of<'m>(model: &'m Model, job: JobRef<'m>) -> Result<Option<Schedule>, String> {
    let Some((window, runs, scheduled)) = facts(model, job) else {
        return Ok(None);
    };
    if !scheduled && window == Window::Any {
        return Ok(None);
    }
    let hour = start_hour(model, job, 0, &mut BTreeMap::new());
    cron(days(runs), hour).map(Some).ok_or_else(|| {
        format!(
            "its producers' `max_runtime` put its start {} days after theirs, past the period of its `runs`: shorten their `max_runtime` or run it less often",
            hour / 24
        )
    })
}

/// `(window, runs a month, whether `runs` was written)` of a job.
fn facts(model: &Model, (kind, name): JobRef) -> Option<(Window, f64, bool)> {
    match kind {
        "train" => model
            .train(name)
            .map(|t| (t.window, t.runs_per_month.to_f64(), t.runs_given)),
        _ => model
            .batch(name)
            .map(|b| (b.window, b.runs_per_month.to_f64(), b.runs_given)),
    }
}

/// Hours after midnight of a run's first day at which the job starts: its window's start,
/// or later, when the last of its producers has had its `max_runtime` (may pass 24: the
/// job starts on a later day). Memoised: readers of many producers share their chains.
fn start_hour<'m>(
    model: &'m Model,
    job: JobRef<'m>,
    depth: usize,
    known: &mut BTreeMap<JobRef<'m>, u64>,
) -> u64 {
    if let Some(&hour) = known.get(&job) {
        return hour;
    }
    let base = match facts(model, job) {
        Some((Window::OffPeak, _, _)) => OFF_PEAK_START,
        _ => ANY_START,
    };
    if depth >= MAX_CHAIN {
        return base;
    }
    let mut hour = base;
    for (producer, runtime_hours) in producers(model, job) {
        hour = hour.max(start_hour(model, producer, depth + 1, known) + runtime_hours);
    }
    known.insert(job, hour);
    hour
}

/// The jobs whose output `job` reads, each with its `max_runtime` in whole hours.
fn producers<'m>(model: &'m Model, (kind, name): JobRef) -> Vec<(JobRef<'m>, u64)> {
    let hours = |seconds: crate::check::units::Exact| (seconds.to_f64() / 3600.0).ceil() as u64;
    let writer_of = |dataset: &str| {
        model
            .producer(dataset)
            .map(|b| (("batch", b.name.as_str()), hours(b.max_runtime_seconds)))
    };
    if kind == "train" {
        let data = model
            .train(name)
            .map(|t| t.data.as_slice())
            .unwrap_or_default();
        return data.iter().filter_map(|d| writer_of(d)).collect();
    }
    let inputs = model
        .batch(name)
        .map(|b| b.inputs.as_slice())
        .unwrap_or_default();
    inputs
        .iter()
        .filter_map(|input| match input {
            Input::Dataset(d) => writer_of(d),
            Input::Train(t) => model
                .train(t)
                .map(|t| (("train", t.name.as_str()), hours(t.max_runtime_seconds))),
        })
        .collect()
}

/// The days a job with `runs` a month starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Days {
    Daily,
    /// Days of the week, 0 = Sunday.
    Week(Vec<u64>),
    /// Days of the month, every `every` months.
    Month {
        days: Vec<u64>,
        every: u64,
    },
}

fn days(runs_per_month: f64) -> Days {
    let per_week = (runs_per_month * 12.0 / 52.0).round() as u64;
    if per_week >= 7 {
        return Days::Daily;
    }
    if per_week >= 1 {
        // Fridays first: off-peak time runs longest from Friday night (to Monday 06:00).
        let sets: [&[u64]; 6] = [
            &[5],
            &[2, 5],
            &[1, 3, 5],
            &[1, 2, 4, 5],
            &[1, 2, 3, 4, 5],
            &[0, 1, 2, 3, 4, 5],
        ];
        return Days::Week(sets[(per_week - 1) as usize].to_vec());
    }
    if runs_per_month >= 1.5 {
        return Days::Month {
            days: vec![1, 15],
            every: 1,
        };
    }
    if runs_per_month >= 0.75 {
        return Days::Month {
            days: vec![1],
            every: 1,
        };
    }
    let every = (1.0 / runs_per_month.max(1.0 / 12.0))
        .round()
        .clamp(2.0, 12.0) as u64;
    Days::Month {
        days: vec![1],
        every,
    }
}

const WEEKDAYS: [&str; 7] = [
    "Sundays",
    "Mondays",
    "Tuesdays",
    "Wednesdays",
    "Thursdays",
    "Fridays",
    "Saturdays",
];

/// The cron line of `days` at `hour` (past 24: that many days later), or `None` when the
/// days moved would leave their week or month (a run would start before the one before
/// it ended).
fn cron(days: Days, hour: u64) -> Option<Schedule> {
    let (shift, hour) = (hour / 24, hour % 24);
    let join = |xs: &[u64]| xs.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    let at = format!("at {hour:02}:00 UTC");
    Some(match days {
        Days::Daily => Schedule {
            cron: format!("0 {hour} * * *"),
            note: format!("every day {at}"),
        },
        Days::Week(days) => {
            if shift >= 7 {
                return None;
            }
            let mut days: Vec<u64> = days.iter().map(|d| (d + shift) % 7).collect();
            days.sort_unstable();
            let names: Vec<&str> = days.iter().map(|&d| WEEKDAYS[d as usize]).collect();
            Schedule {
                cron: format!("0 {hour} * * {}", join(&days)),
                note: format!("{} {at}", names.join(", ")),
            }
        }
        Days::Month { days, every } => {
            // The 28th is in every month.
            let days: Vec<u64> = days.iter().map(|d| d + shift).collect();
            if days.iter().any(|&d| d > 28) {
                return None;
            }
            let listed: Vec<String> = days.iter().map(|d| ordinal(*d)).collect();
            let (months, which) = if every > 1 {
                (format!("*/{every}"), format!("of every {}th month", every))
            } else {
                ("*".to_string(), "of each month".to_string())
            };
            Schedule {
                cron: format!("0 {hour} {} {months} *", join(&days)),
                note: format!("the {} {which} {at}", listed.join(" and ")),
            }
        }
    })
}

fn ordinal(day: u64) -> String {
    let suffix = match (day % 10, day % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{day}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cron_(days: Days, hour: u64) -> Schedule {
        cron(days, hour).expect("a schedule")
    }

    #[test]
    fn runs_spread_over_the_month_fridays_first() {
        assert_eq!(cron_(days(30.0), 22).cron, "0 22 * * *");
        assert_eq!(cron_(days(4.0), 22).cron, "0 22 * * 5");
        assert_eq!(cron_(days(8.7), 2).cron, "0 2 * * 2,5");
        assert_eq!(cron_(days(2.0), 22).cron, "0 22 1,15 * *");
        assert_eq!(cron_(days(1.0), 22).cron, "0 22 1 * *");
        assert_eq!(cron_(days(4.0 / 12.0), 22).cron, "0 22 1 */3 *");
        assert_eq!(cron_(days(0.0), 22).cron, "0 22 1 */12 *");
        assert_eq!(cron_(days(4.0), 2).note, "Fridays at 02:00 UTC");
        assert_eq!(
            cron_(days(2.0), 2).note,
            "the 1st and 15th of each month at 02:00 UTC"
        );
    }

    #[test]
    fn a_start_past_midnight_moves_to_the_next_day() {
        // A reader of a 4 h off-peak producer: 02:00 the next day.
        assert_eq!(cron_(days(4.0), 26).cron, "0 2 * * 6");
        assert_eq!(cron_(days(26.0), 26).cron, "0 2 * * 1,2,3,4,5,6");
        assert_eq!(cron_(days(2.0), 22 + 48).cron, "0 22 3,17 * *");
        assert_eq!(cron_(days(30.0), 30).cron, "0 6 * * *");
        // A week's worth of producer, or a month's past the 28th: no order within the period.
        assert!(cron(days(4.0), 2 + 7 * 24).is_none());
        assert!(cron(days(2.0), 2 + 14 * 24).is_none());
    }
}
