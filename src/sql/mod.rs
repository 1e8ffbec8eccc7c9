//! SQL text before any rule judges it: the splitter that cuts a file into statements as
//! psql and the Supabase CLI do, and what kind of statement each one is.

pub mod classify;
pub mod lexical;
pub mod names;
pub mod one_relation;
pub mod secrets;
pub mod split;
pub mod statement;
