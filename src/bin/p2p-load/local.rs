//! What other processes of this machine spent over the run (PostgreSQL's, when it shares the
//! machine with the server): their CPU read from `/proc` before and after, so a run shows the
//! database's share of the CPU next to the servers' without a profiler.
//!
//! A process that ends during the run is not counted; PostgreSQL's backends live as long as the
//! server's connections, so it keeps nearly all of its CPU in view.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// Clock ticks per second in `/proc/[pid]/stat`: Linux's `USER_HZ`, 100 on every architecture
/// it exposes to user space.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds spent so far by each live process named `name`, by pid; empty where `/proc`
/// cannot be read.
pub fn sample(name: &str) -> BTreeMap<u32, f64> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return BTreeMap::new();
    };
    entries
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (comm, ticks) = parse_stat(&stat)?;
            (comm == name).then_some((pid, ticks / TICKS_PER_SECOND))
        })
        .collect()
}

/// The command name and user plus system ticks of one `/proc/[pid]/stat` line.
fn parse_stat(stat: &str) -> Option<(&str, f64)> {
    // `pid (comm) state ppid …`: the name may hold spaces and parentheses, so it ends at the
    // last `)`; utime and stime are fields 14 and 15, the 12th and 13th after it.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    let mut fields = stat.get(close + 1..)?.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((comm, utime + stime))
}

/// CPU spent between two samples by the processes alive at both.
pub fn spent(before: &BTreeMap<u32, f64>, after: &BTreeMap<u32, f64>) -> f64 {
    after
        .iter()
        .filter_map(|(pid, now)| Some(now - before.get(pid)?))
        .sum()
}

/// The report's `watched` part: each watched name's CPU over the run and per completed order.
pub fn report(spent: &[(String, f64, usize)], completed: u64) -> Value {
    spent
        .iter()
        .map(|(name, seconds, processes)| {
            let mut figures = crate::server::cpu_figures(*seconds, completed);
            figures.insert("name".into(), json!(name));
            figures.insert("processes".into(), json!(processes));
            Value::Object(figures)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_stat_line_whose_name_has_spaces_and_parentheses() {
        let line = "4242 (postgres: a (b)) S 1 4242 4242 0 -1 4194560 90 0 0 0 \
                    1234 56 0 0 20 0 1 0 100 200000000 3000 18446744073709551615";
        assert_eq!(parse_stat(line), Some(("postgres: a (b)", 1290.0)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn counts_only_processes_alive_at_both_ends() {
        let before = BTreeMap::from([(1, 2.0), (2, 5.0)]);
        let after = BTreeMap::from([(1, 3.5), (3, 9.0)]);
        assert_eq!(spent(&before, &after), 1.5);
    }

    #[test]
    fn this_process_is_seen() {
        let me = std::process::id();
        let stat = std::fs::read_to_string(format!("/proc/{me}/stat"));
        if let Ok(stat) = stat {
            let (name, _) = parse_stat(&stat).expect("its own stat line parses");
            assert!(sample(name).contains_key(&me));
        }
    }
}
