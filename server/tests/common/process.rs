//! Real processes for fault tests: a PostgreSQL cluster of the test's own (so it can be stopped
//! and started without touching anyone else's) and the `server` binary itself (so it can be
//! killed with SIGKILL). Both are stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn unique_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("rentwise-{name}-{}-{nanos}", std::process::id()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// PostgreSQL's binaries (initdb, pg_ctl), newest version installed.
fn postgres_bin() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed under /usr/lib/postgresql (apt-get install postgresql)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("pg_ctl").exists())
        .collect();
    dirs.sort_by_key(|d| {
        d.parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop().expect("a PostgreSQL bin directory with pg_ctl")
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root (initdb refuses root).
fn pg_command(bin: &Path, tool: &str) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        command
    } else {
        Command::new(bin.join(tool))
    }
}

pub struct PrivatePostgres {
    bin: PathBuf,
    dir: PathBuf,
    pub port: u16,
}

impl PrivatePostgres {
    /// A new cluster (trust authentication) on a free loopback port, started.
    pub fn start() -> PrivatePostgres {
        let bin = postgres_bin();
        let dir = unique_dir("pg");
        std::fs::create_dir_all(&dir).expect("cluster directory");
        if is_root() {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(status.success(), "chown the cluster directory to postgres");
        }
        let output = pg_command(&bin, "initdb")
            .arg("-D")
            .arg(dir.join("data"))
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ])
            .output()
            .expect("run initdb");
        assert!(
            output.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let cluster = PrivatePostgres {
            bin,
            dir,
            port: free_port(),
        };
        cluster.start_again();
        cluster
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts the stopped cluster on the same port and waits until it accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            self.port,
            self.dir.display()
        );
        let status = pg_command(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .stdout(Stdio::null())
            .status()
            .expect("run pg_ctl start");
        assert!(status.success(), "pg_ctl start failed");
    }

    /// Stops the cluster: `fast` disconnects every client at once, as a restart does.
    pub fn stop(&self) {
        let status = pg_command(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "fast", "-w", "-t", "60", "stop"])
            .stdout(Stdio::null())
            .status()
            .expect("run pg_ctl stop");
        assert!(status.success(), "pg_ctl stop failed");
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = pg_command(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `server` binary, started with the test's settings on a free port.
pub struct ServerProcess {
    child: Option<Child>,
    pub port: u16,
    pub data_dir: PathBuf,
    env: Vec<(String, String)>,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts the server against `database_url`, with `env` on top of quiet defaults, and
    /// waits until `/performance/health` answers 200.
    pub async fn start(database_url: &str, env: &[(&str, &str)]) -> ServerProcess {
        let mut server = ServerProcess::prepare(database_url, env);
        server.start_again().await;
        server
    }

    /// The same, not started yet: its data directory exists, for the test to arrange.
    pub fn prepare(database_url: &str, env: &[(&str, &str)]) -> ServerProcess {
        let data_dir = unique_dir("data");
        std::fs::create_dir_all(&data_dir).expect("data directory");
        let mut all: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), database_url.into()),
            ("RENTWISE_DATA_DIR".into(), data_dir.display().to_string()),
            (
                "RENTWISE_SITE_ROOT".into(),
                data_dir.join("site").display().to_string(),
            ),
            ("RENTWISE_LOG".into(), "warn".into()),
            ("RENTWISE_DB_MIN_CONNECTIONS".into(), "2".into()),
            ("RENTWISE_DB_MAX_CONNECTIONS".into(), "10".into()),
        ];
        for (name, value) in env {
            all.retain(|(n, _)| n != name);
            all.push(((*name).to_owned(), (*value).to_owned()));
        }
        ServerProcess {
            child: None,
            port: free_port(),
            log: data_dir.join("server.log"),
            data_dir,
            env: all,
        }
    }

    /// Starts the binary again on the same port, data directory and settings.
    pub async fn start_again(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("server log");
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("RENTWISE_LISTEN", format!("127.0.0.1:{}", self.port))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start the server binary");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(90);
        let client = reqwest::Client::new();
        loop {
            let health = client
                .get(self.url("/performance/health"))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if health.is_ok_and(|r| r.status() == 200) {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("the server exited with {status}:\n{}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "the server was not healthy within 90 s:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// SIGKILL: no drain, no cleanup, no released jobs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}
