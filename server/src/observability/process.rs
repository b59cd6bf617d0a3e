//! The process's own resource use: resident memory from /proc/self/statm and CPU seconds from
//! /proc/self/stat. Linux only; elsewhere (or if /proc cannot be read) the values are `None`.

use serde::Serialize;

/// Resident memory and CPU time used so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ProcessUsage {
    pub rss_bytes: Option<u64>,
    /// User plus system CPU time since the process started.
    pub cpu_seconds: Option<f64>,
}

impl ProcessUsage {
    /// Reads /proc now (two small in-memory files; no disk is touched).
    pub fn read() -> Self {
        #[cfg(target_os = "linux")]
        {
            let read = |path| std::fs::read_to_string(path).ok();
            ProcessUsage {
                rss_bytes: read("/proc/self/statm")
                    .and_then(|statm| resident_pages(&statm))
                    .zip(sysconf(libc::_SC_PAGESIZE))
                    .map(|(pages, page_size)| pages.saturating_mul(page_size)),
                cpu_seconds: read("/proc/self/stat")
                    .and_then(|stat| cpu_ticks(&stat))
                    .zip(sysconf(libc::_SC_CLK_TCK))
                    .map(|(ticks, per_second)| ticks as f64 / per_second as f64),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            ProcessUsage::default()
        }
    }
}

#[cfg(target_os = "linux")]
fn sysconf(name: libc::c_int) -> Option<u64> {
    // SAFETY: sysconf reads a system constant; it takes no pointers and is thread-safe.
    let value = unsafe { libc::sysconf(name) };
    u64::try_from(value).ok().filter(|value| *value > 0)
}

/// Resident pages: the second field of /proc/self/statm.
fn resident_pages(statm: &str) -> Option<u64> {
    statm.split_whitespace().nth(1)?.parse().ok()
}

/// utime + stime in clock ticks: fields 14 and 15 of /proc/self/stat. Field 2, the command
/// name, is in parentheses and may hold spaces or parentheses, so count from the last ')'.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11); // field 3 is the first here
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statm_gives_resident_pages() {
        assert_eq!(resident_pages("12345 678 90 1 0 200 0\n"), Some(678));
        assert_eq!(resident_pages("12345"), None);
        assert_eq!(resident_pages(""), None);
    }

    #[test]
    fn stat_gives_user_plus_system_ticks_even_with_odd_command_names() {
        let stat = "4242 (my (odd) srv) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 \
                    8 0 100 1000000 500 18446744073709551615";
        assert_eq!(cpu_ticks(stat), Some(325));
        assert_eq!(cpu_ticks("4242 (srv) S 1 2"), None);
        assert_eq!(cpu_ticks("no parenthesis"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_memory_and_cpu_time() {
        let usage = ProcessUsage::read();
        assert!(usage.rss_bytes.is_some_and(|rss| rss > 1024 * 1024));
        assert!(usage.cpu_seconds.is_some_and(|cpu| cpu >= 0.0));
    }
}
