//! Running the lesson and benchmark programs of `tandem-examples`, which are compiled into
//! the command so that `tandem lessons` and `tandem bench` run them without a source tree or
//! cargo.
//!
//! Each program runs in a child process of this same binary (`TANDEM_PROGRAM=name`), so that
//! it sees exactly the arguments it would see as a cargo example.

pub use tandem_examples::{find, PROGRAMS, PROGRAM_VAR};

/// Runs `name` in a child process with `args`; its output goes to this process's output when
/// `capture` is false, else it is returned.
pub fn spawn(name: &str, args: &[String], capture: bool) -> std::io::Result<(bool, String)> {
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(args).env(PROGRAM_VAR, name);
    if capture {
        let out = cmd.stderr(std::process::Stdio::inherit()).output()?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ))
    } else {
        Ok((cmd.status()?.success(), String::new()))
    }
}
