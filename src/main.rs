//! The `dsr-worker` binary; the command line itself is [`dsr_worker::cli`].

fn main() -> std::process::ExitCode {
    dsr_worker::cli::main()
}
