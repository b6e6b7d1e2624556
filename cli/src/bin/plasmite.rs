//! Entry point: `pls` and `plasmite` are the same program.
fn main() {
    std::process::exit(plasmite_cli::main());
}
