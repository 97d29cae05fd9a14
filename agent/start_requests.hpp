#pragma once
// What an agent does with the requests on its start subject (mk.vma.<id>.start): the size of a
// source (probe), and a mover started and watched (start). Both answer on the request's reply
// subject, from a lane; the agent actor calls them as requests arrive.
#include <caf/stateful_actor.hpp>
#include <memory>

#include "agent/mover/mover_process.hpp"
#include "agent/mover_record.hpp"
#include "agent/vma_agent.hpp"
#include "bus/transport.hpp"
#include "messages/catalogue.hpp"

namespace mk::actors {

using agent_self = caf::stateful_actor<vma_agent_state>*;

/// Answers with the source's size, or why not (outside the source roots, unreachable).
void on_probe(agent_self self, const bus::envelope& e, const msg::probe_source& req);

/// Starts the job's mover (or answers with the one that runs already); `req` null: a request
/// that is neither a start nor a probe, refused.
void on_start(agent_self self, const bus::envelope& e, const msg::start_mover* req);

/// Why a start request is refused, in words for the OMA's job record; empty if it is valid.
/// The source must be an NBD URI or an existing path under a source root, the target an NBD
/// URI, the job and checkpoint names ids.
std::string check_start(const msg::start_mover& req, const vma_agent_options& opts);

/// Watches a mover this agent started or adopted: its vma_process actor, and the agent's
/// record of it (vma_agent.cpp).
void watch_mover(agent_self self, const mover_record& rec,
                 std::shared_ptr<vma::mover_process> mover);

}  // namespace mk::actors
