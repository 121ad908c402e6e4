//! The one place the binary's exit statuses are decided.

use std::process::ExitCode;

use conc_sampler::ProfileError;

/// How `conc-advisor` exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: `check` found nothing at or above `--fail-on` (or `--exit-zero`); any other command succeeded.
    Success,
    /// 1: `check` found something at or above `--fail-on`.
    Findings,
    /// 2: a usage, configuration or I/O error (a path that could not be checked, an output that could not be
    /// written, `profile` where it is not available).
    Error,
    /// 126: the command to profile exists but cannot be run.
    CannotExecute,
    /// 127: the command to profile does not exist.
    NotFound,
    /// `profile`: the profiled command's own status, as a shell reports it (killed by signal N: 128 + N).
    Child(i32),
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Findings => 1,
            ExitStatus::Error => 2,
            ExitStatus::CannotExecute => 126,
            ExitStatus::NotFound => 127,
            ExitStatus::Child(c) => u8::try_from(c.clamp(0, 255)).unwrap_or(u8::MAX),
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        ExitCode::from(s.code())
    }
}

impl From<&ProfileError> for ExitStatus {
    fn from(e: &ProfileError) -> ExitStatus {
        match e {
            ProfileError::NotFound(_) => ExitStatus::NotFound,
            ProfileError::CannotRun(_) => ExitStatus::CannotExecute,
            ProfileError::Usage(_) | ProfileError::Unsupported => ExitStatus::Error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(ExitStatus::Success.code(), 0);
        assert_eq!(ExitStatus::Findings.code(), 1);
        assert_eq!(ExitStatus::Error.code(), 2);
        assert_eq!(ExitStatus::Child(137).code(), 137);
        assert_eq!(ExitStatus::Child(300).code(), 255);
        assert_eq!(ExitStatus::from(&ProfileError::NotFound("x".into())).code(), 127);
        assert_eq!(ExitStatus::from(&ProfileError::CannotRun("x".into())).code(), 126);
        assert_eq!(ExitStatus::from(&ProfileError::Unsupported), ExitStatus::Error);
    }
}
