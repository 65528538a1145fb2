fn main() -> std::process::ExitCode {
    cqgrav::cli::main()
}
