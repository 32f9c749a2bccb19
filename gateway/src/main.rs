fn main() -> std::process::ExitCode {
    ratewire_gateway::cli::run()
}
