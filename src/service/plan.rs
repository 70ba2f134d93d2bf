//! Statements whose PostgreSQL plan can be cached.
//!
//! sqlx prepares every statement once per connection, and PostgreSQL then decides per
//! execution whether to plan it for the values bound (a custom plan) or reuse one generic
//! plan. It keeps the generic plan only when that plan's estimated cost is no higher than the
//! custom plans'. A `LIMIT $n` defeats that: not knowing the count, the planner costs the
//! generic plan as if it returned a tenth of the table, so a page of 21 rows was planned again
//! on every request, and planning took three times as long as running it (0.35 ms against
//! 0.1 ms at 1M rows, `EXPLAIN (ANALYZE, SUMMARY)`). Written into the SQL text, the row count
//! lets the planner cost the generic plan right, and it keeps it after its fifth execution.
//!
//! SQLite has its own reason to want the count in the text: it marks a statement whose `LIMIT`
//! is a parameter as depending on that parameter's value (`computeLimitRegisters` asks whether
//! the limit is a known integer), and rebinding such a parameter, as every execution does,
//! expires the prepared statement, so each execution compiled it again. The list's first page
//! ran twice as fast on SQLite with the count written in (2,857 and 3,706 req/s against 1,449
//! and 1,691, interleaved runs of `bench.py` at 10k rows).
//!
//! Only a `LIMIT`'s count is written as a literal; every other value stays a bound parameter.
//! The counts a caller can ask for are few (1 to 101 rows a page), so each connection holds at
//! most that many variants of a statement. An `OFFSET` stays a parameter: it is unbounded.

use std::fmt::{self, Write};

use sea_orm::{
    DbBackend, Statement,
    sea_query::{
        PostgresQueryBuilder, QueryBuilder, SelectStatement, SqlWriter, SqlWriterValues,
        SqliteQueryBuilder, Value,
    },
};

/// `query` as a statement with its `LIMIT` counts in the SQL text (see the module doc).
pub fn literal_limits(backend: DbBackend, query: &SelectStatement) -> Statement {
    let (sql, values) = match backend {
        DbBackend::Postgres => build(&PostgresQueryBuilder, query),
        // MySQL is not a backend of this service; SQLite's builder is the fallback.
        _ => build(&SqliteQueryBuilder, query),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

fn build(builder: &impl QueryBuilder, query: &SelectStatement) -> (String, Vec<Value>) {
    let (placeholder, numbered) = builder.placeholder();
    let mut writer = LiteralLimitWriter {
        params: SqlWriterValues::new(placeholder, numbered),
        after_limit: false,
    };
    query.build_collect_any_into(builder, &mut writer);
    let (sql, values) = writer.params.into_parts();
    (sql, values.0)
}

/// Collects bound parameters like sea-query's own writer, except the value that directly
/// follows the ` LIMIT ` keyword sea-query writes, which it writes in place.
struct LiteralLimitWriter {
    params: SqlWriterValues,
    /// The last text written was ` LIMIT `.
    after_limit: bool,
}

impl Write for LiteralLimitWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.after_limit = s == " LIMIT ";
        self.params.write_str(s)
    }
}

impl fmt::Display for LiteralLimitWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.params.fmt(f)
    }
}

impl SqlWriter for LiteralLimitWriter {
    fn push_param<T: QueryBuilder>(&mut self, value: Value, query_builder: &T) {
        match value {
            Value::BigUnsigned(Some(count)) if self.after_limit => {
                self.after_limit = false;
                // An integer's digits: nothing a caller supplies reaches the text but a number.
                let _ = write!(self.params, "{count}");
            }
            value => {
                self.after_limit = false;
                self.params.push_param(value, query_builder);
            }
        }
    }

    fn as_writer(&mut self) -> &mut dyn Write {
        self as _
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{
        DbBackend,
        sea_query::{Alias, Expr, ExprTrait, Query, Value},
    };

    use super::literal_limits;

    #[test]
    fn only_the_limit_count_is_written_into_the_sql() {
        let mut inner = Query::select();
        inner
            .column(Alias::new("a"))
            .from(Alias::new("t"))
            .and_where(Expr::col(Alias::new("b")).eq(7u64))
            .limit(21)
            .offset(40);
        let mut outer = Query::select();
        outer
            .column(Alias::new("a"))
            .from_subquery(inner, Alias::new("p"))
            .and_where(Expr::col(Alias::new("c")).eq("LIMIT"))
            .limit(5);
        let pg = literal_limits(DbBackend::Postgres, &outer);
        assert_eq!(
            pg.sql,
            r#"SELECT "a" FROM (SELECT "a" FROM "t" WHERE "b" = $1 LIMIT 21 OFFSET $2) AS "p" WHERE "c" = $3 LIMIT 5"#
        );
        let values = pg.values.expect("bound values").0;
        assert_eq!(
            values,
            vec![
                Value::BigUnsigned(Some(7)),
                Value::BigUnsigned(Some(40)),
                Value::String(Some("LIMIT".to_owned())),
            ]
        );
        let sqlite = literal_limits(DbBackend::Sqlite, &outer);
        assert_eq!(
            sqlite.sql,
            r#"SELECT "a" FROM (SELECT "a" FROM "t" WHERE "b" = ? LIMIT 21 OFFSET ?) AS "p" WHERE "c" = ? LIMIT 5"#
        );
        assert_eq!(sqlite.values.expect("bound values").0.len(), 3);
    }
}
