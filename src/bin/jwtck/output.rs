//! Human or JSON output; colour only on a terminal, and never with `NO_COLOR`.

use std::io::IsTerminal;

/// Where and how results are printed.
#[derive(Debug)]
pub(crate) struct Output {
    /// `--json`: one JSON document on standard output.
    pub(crate) json: bool,
    color: bool,
}

impl Output {
    pub(crate) fn new(json: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            json,
            color: !json && !no_color && std::io::stdout().is_terminal(),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub(crate) fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    pub(crate) fn red(&self, text: &str) -> String {
        self.paint("1;31", text)
    }

    pub(crate) fn green(&self, text: &str) -> String {
        self.paint("1;32", text)
    }

    pub(crate) fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }

    pub(crate) fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    /// Prints a JSON value, pretty.
    pub(crate) fn print_json(&self, value: &serde_json::Value) {
        println!("{}", pretty(value));
    }
}

/// Pretty JSON (serializing a `Value` cannot fail).
pub(crate) fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
