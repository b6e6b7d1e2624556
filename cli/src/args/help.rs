//! Help text, generated from the command table.
//!
//! Layout: a title line, USAGE, a paragraph about the command, then ARGUMENTS, the flags grouped
//! by [`Category`], GLOBAL OPTIONS, and EXAMPLES. Every line fits in [`WIDTH`] columns.

use super::spec::{
    self, Arity, Category, CommandId, CommandSpec, Default, Flag, Kind, Positional, ENVIRONMENT,
    GLOBAL_FLAGS,
};
use super::VERSION;

/// Maximum line width of help output.
pub(crate) const WIDTH: usize = 100;

/// Column where descriptions start in option and argument lists.
const DESC_COL: usize = 34;

/// Column where descriptions start in command and environment lists (short names).
const LIST_COL: usize = 18;

/// Joins the words of a bracketed annotation so wrapping never splits `[default: 1M]`;
/// [`Help::row`] turns it back into a plain space.
const GLUE: char = '\u{a0}';

/// `[label: value]`, kept on one line by the wrapper.
fn annotation(label: &str, value: &str) -> String {
    format!("[{label}: {value}]").replace(' ', &GLUE.to_string())
}

/// Renders the help of `spec` for the program called `bin`.
pub(crate) fn render(bin: &str, spec: &CommandSpec) -> String {
    let mut out = Help {
        bin,
        text: String::new(),
    };
    if spec.id == CommandId::Root {
        out.root(spec);
    } else {
        out.command(spec);
    }
    out.text
}

struct Help<'a> {
    bin: &'a str,
    text: String,
}

impl Help<'_> {
    /// Replaces the `{bin}` placeholder.
    fn sub(&self, text: &str) -> String {
        text.replace("{bin}", self.bin)
    }

    fn line(&mut self, line: &str) {
        self.text.push_str(line.trim_end());
        self.text.push('\n');
    }

    fn blank(&mut self) {
        self.text.push('\n');
    }

    fn heading(&mut self, heading: &str) {
        self.blank();
        self.line(&format!("{heading}:"));
    }

    fn paragraph(&mut self, text: &str) {
        for line in wrap(&self.sub(text), WIDTH) {
            self.line(&line);
        }
    }

    /// A two-column row: `left` at column 4, `desc` wrapped from column `col`.
    fn row_at(&mut self, col: usize, left: &str, desc: &str) {
        let left = format!("    {left}");
        let desc_lines: Vec<String> = wrap(&self.sub(desc), WIDTH - col)
            .into_iter()
            .map(|line| line.replace(GLUE, " "))
            .collect();
        let mut lines = desc_lines.iter();
        if left.chars().count() + 2 <= col {
            let first = lines.next().map(String::as_str).unwrap_or("");
            self.line(&format!("{left:<col$}{first}"));
        } else {
            self.line(&left);
        }
        for rest in lines {
            self.line(&format!("{:col$}{rest}", ""));
        }
    }

    /// An option or argument row.
    fn row(&mut self, left: &str, desc: &str) {
        self.row_at(DESC_COL, left, desc);
    }

    fn root(&mut self, spec: &CommandSpec) {
        let bin = self.bin;
        self.line(&format!("{bin} {VERSION} - {}", spec.summary));
        self.blank();
        self.paragraph(spec.about);

        self.heading("USAGE");
        self.line(&format!(
            "    {bin} [--dir DIR] [--color WHEN] COMMAND [ARGS]"
        ));
        self.line(&format!("    {bin} help [COMMAND]"));

        self.commands(spec);

        self.heading("GLOBAL OPTIONS (before or after the command)");
        for flag in GLOBAL_FLAGS {
            self.flag(flag);
        }

        self.examples(spec);

        self.heading("ENVIRONMENT");
        for (name, meaning) in ENVIRONMENT {
            self.row_at(LIST_COL, name, meaning);
        }

        self.heading("LEARN MORE");
        self.row(
            &format!("{bin} help COMMAND"),
            "Help for one command, e.g. `{bin} help peek` (or `{bin} peek --help`)",
        );
        let pool_words: Vec<&str> = spec::command(&["pool"])
            .map(|pool| {
                pool.children()
                    .filter_map(|c| c.path.last().copied())
                    .collect()
            })
            .unwrap_or_default();
        self.row(
            &format!("{bin} pool {}", pool_words.join("|")),
            "Manage the pool files themselves",
        );
        self.row(
            &format!("{bin} completion SHELL"),
            "Shell completion for bash, zsh or fish",
        );
    }

    /// The COMMANDS section: direct subcommands with their summaries.
    fn commands(&mut self, spec: &CommandSpec) {
        let children: Vec<&CommandSpec> = spec.children().collect();
        if children.is_empty() {
            return;
        }
        self.heading("COMMANDS");
        for child in children {
            let word = child.path.last().copied().unwrap_or("");
            let grandchildren: Vec<&str> = child
                .children()
                .filter_map(|c| c.path.last().copied())
                .collect();
            let summary = if grandchildren.is_empty() {
                child.summary.to_owned()
            } else {
                format!("{} ({})", child.summary, grandchildren.join(", "))
            };
            self.row_at(LIST_COL, word, &summary);
        }
    }

    fn command(&mut self, spec: &CommandSpec) {
        let bin = self.bin;
        let name = spec.name();
        self.line(&format!("{bin} {name} - {}", spec.summary));

        self.heading("USAGE");
        self.line(&format!("    {}", usage(bin, spec)));
        self.blank();
        self.paragraph(spec.about);

        if !spec.positionals.is_empty() {
            self.heading("ARGUMENTS");
            for positional in spec.positionals {
                self.positional(positional);
            }
        }

        self.commands(spec);

        // Sections in order of first appearance in the command's flag list.
        let mut categories: Vec<Category> = Vec::new();
        for flag in spec.flags {
            if !categories.contains(&flag.category) {
                categories.push(flag.category);
            }
        }
        for category in categories {
            self.heading(category.heading());
            for flag in spec.flags.iter().filter(|f| f.category == category) {
                self.flag(flag);
            }
        }

        self.heading(Category::Global.heading());
        for flag in GLOBAL_FLAGS {
            self.flag(flag);
        }

        self.examples(spec);
    }

    fn positional(&mut self, positional: &Positional) {
        let mut desc = positional.help.to_owned();
        if let Kind::Choice(names) = positional.kind {
            desc.push(' ');
            desc.push_str(&annotation("possible values", &names.join(", ")));
        }
        self.row(positional.name, &desc);
    }

    fn flag(&mut self, flag: &Flag) {
        self.row(&flag_left(flag), &flag_description(flag));
    }

    fn examples(&mut self, spec: &CommandSpec) {
        if spec.examples.is_empty() {
            return;
        }
        self.heading("EXAMPLES");
        for (i, example) in spec.examples.iter().enumerate() {
            if i > 0 {
                self.blank();
            }
            self.line(&format!("    # {}", self.sub(example.comment)));
            for line in self.sub(example.command).lines() {
                self.line(&format!("    {line}"));
            }
        }
    }
}

/// The usage line of a command, e.g. `pls poke POOL [DATA] [OPTIONS]`.
pub(crate) fn usage(bin: &str, spec: &CommandSpec) -> String {
    let mut words = vec![bin.to_owned()];
    words.extend(spec.path.iter().map(|w| (*w).to_owned()));
    if spec.group {
        words.push("COMMAND".to_owned());
        return words.join(" ");
    }
    for positional in spec.positionals {
        words.push(match positional.arity {
            Arity::Required => positional.name.to_owned(),
            Arity::Optional => format!("[{}]", positional.name),
            Arity::OneOrMore => format!("{}...", positional.name),
            Arity::ZeroOrMore => format!("[{}]...", positional.name),
        });
    }
    if !spec.flags.is_empty() {
        words.push("[OPTIONS]".to_owned());
    }
    let children: Vec<&str> = spec
        .children()
        .filter_map(|c| c.path.last().copied())
        .collect();
    if !children.is_empty() {
        words.push(format!("[{}]", children.join("|")));
    }
    words.join(" ")
}

/// `-n, --tail N` / `    --since WHEN`.
pub(crate) fn flag_left(flag: &Flag) -> String {
    let short = match flag.short {
        Some(c) => format!("-{c}, "),
        None => "    ".to_owned(),
    };
    if flag.kind.takes_value() {
        format!("{short}--{} {}", flag.long, flag.value_name)
    } else {
        format!("{short}--{}", flag.long)
    }
}

/// The flag's help plus its default, possible values and repeatability.
pub(crate) fn flag_description(flag: &Flag) -> String {
    let mut desc = flag.help.to_owned();
    match flag.default {
        Default::Value(value) | Default::Note(value) => {
            desc.push(' ');
            desc.push_str(&annotation("default", value));
        }
        Default::None => {}
    }
    if let Kind::Choice(names) = flag.kind {
        desc.push(' ');
        desc.push_str(&annotation("possible values", &names.join(", ")));
    }
    if flag.repeatable {
        desc.push_str(" [repeatable]");
    }
    desc
}

/// Greedy word wrap to `width` columns; a word longer than the width gets a line of its own.
/// Only ASCII whitespace separates words (so [`GLUE`] holds annotations together).
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text
        .split(|c: char| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
    {
        let needed = if current.is_empty() {
            word.chars().count()
        } else {
            current.chars().count() + 1 + word.chars().count()
        };
        if needed > width && !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_respects_width() {
        let text = "one two three four five six seven eight nine ten";
        for line in wrap(text, 10) {
            assert!(line.chars().count() <= 10, "{line:?}");
        }
        assert_eq!(wrap("", 10), vec![String::new()]);
        assert_eq!(
            wrap("averyveryverylongword x", 5),
            vec!["averyveryverylongword", "x"]
        );
    }

    #[test]
    fn usage_lines() {
        let poke = spec::command(&["poke"]).unwrap();
        assert_eq!(usage("pls", poke), "pls poke POOL [DATA] [OPTIONS]");
        let create = spec::command(&["pool", "create"]).unwrap();
        assert_eq!(usage("pls", create), "pls pool create NAME... [OPTIONS]");
        let pool = spec::command(&["pool"]).unwrap();
        assert_eq!(usage("pls", pool), "pls pool COMMAND");
        let serve = spec::command(&["serve"]).unwrap();
        assert_eq!(usage("pls", serve), "pls serve [OPTIONS] [check|init]");
        let help = spec::command(&["help"]).unwrap();
        assert_eq!(usage("plasmite", help), "plasmite help [COMMAND]...");
    }
}
