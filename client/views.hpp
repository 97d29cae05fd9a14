#pragma once

#include <nlohmann/json.hpp>
#include <string>

/// The API's answers other than jobs, as `migratekit ctl` shows them: the JobLog, a stop's
/// dry-run plan, a batch's outcome, schedules, and any other object as aligned key/value
/// lines (maintenance, analytics: docs/operations.md leaves their exact shape to the server).
/// Pure functions, as lenient as ctl_render.hpp about missing fields.
namespace mk::client {

/// A value on one line: a string as it is, an object as "key=value, ...", anything else as JSON.
std::string compact(const nlohmann::json& value);

/// Every leaf of an object, "a.b  value", aligned; arrays of plain values joined with ", ".
std::string key_values(const nlohmann::json& value);

/// `ctl log`: {"entries":[{ts, event, actor, state, stop_id, detail}]} as a table.
std::string log_table(const nlohmann::json& log);

/// `ctl stop --dry-run`: what each participant would do, and the bytes a resume would keep.
std::string plan_text(const nlohmann::json& plan);

/// `ctl stop` of several jobs: {"accepted":[ids],"rejected":[{id, error:{code,message}}]}.
std::string batch_text(const nlohmann::json& outcome);

/// `ctl schedule list`: {"schedules":[{id, action, target, at | window}]} as a table, or the
/// answer's key/value lines when it has another shape.
std::string schedules_table(const nlohmann::json& answer);

/// `ctl agent list`: {"agents":[{id, enrolled, online, last_hello, host, version, movers}]} as
/// a table.
std::string agents_table(const nlohmann::json& answer);

}  // namespace mk::client
