//! `mlc explain CODE`

use super::{print_err, print_out, EXIT_OK, EXIT_USAGE};
use mlc::diag::codes;

pub fn run(code: &str) -> u8 {
    if code == "all" {
        for info in codes::REGISTRY {
            print_out(&format!("mlc::{}  {}\n", info.code, info.title));
        }
        return EXIT_OK;
    }
    match codes::lookup(code) {
        Some(info) => {
            print_out(&mlc::diag::explain_text(info));
            EXIT_OK
        }
        None => {
            print_err(&format!(
                "error: unknown diagnostic code `{code}`; run `mlc explain all` for the list\n"
            ));
            EXIT_USAGE
        }
    }
}
