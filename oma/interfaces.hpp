#pragma once

// The typed interfaces of the OMA's job, registry and volume actors: every message sent to
// them and every answer they give is checked by the compiler (CAF typed actors), and answers
// are values (a job_record, a stop_plan), turned into JSON only by the REST API (api/).

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "actors/atoms.hpp"
#include "bus/transport.hpp"
#include "messages/caf_types.hpp"
#include "models/job_record.hpp"
#include "models/maintenance_mode.hpp"
#include "models/schedule.hpp"
#include "models/stop_plan.hpp"
#include "oma/agent_table.hpp"
#include "oma/volumes/backend.hpp"

namespace mk::actors {

/// A job as the registry knows it without asking the job: what maintenance mode and the
/// scheduler need of every job (GET of the list is the API's read model, not this).
struct job_summary {
  std::string id;
  std::string vma;
  msg::job_state state = msg::job_state::queued;
  std::string stop_id;  ///< the stop in progress or last settled; empty if none
};

/// One job (oma/job_actor.hpp has what each message does).
using job_actor_hdl = caf::typed_actor<
    // From the registry: start, the requests of the API and the bus, the poller's reports,
    // the agent's account of the mover, and the confirmations of a stop.
    caf::reacts_to<start_atom>,                                         //
    caf::replies_to<msg::stop_request>::with<job_record>,               //
    caf::replies_to<resume_atom>::with<job_record>,                     //
    caf::replies_to<get_atom>::with<job_record>,                        //
    caf::replies_to<remove_atom, msg::stop_request>::with<job_record>,  //
    caf::replies_to<plan_atom, msg::stop_request>::with<stop_plan>,     //
    caf::reacts_to<bus::envelope>,                                      //
    caf::reacts_to<snapshot_atom, std::string, msg::progress>,          //
    caf::reacts_to<exited_atom, std::string, msg::progress>,            //
    caf::reacts_to<lost_atom, std::string, std::string>,                //
    caf::reacts_to<stalled_atom, std::string, std::uint64_t>,           //
    caf::reacts_to<status_atom, msg::mover_info, bool>,                 //
    // Its own: the agent's answer to a start, no agent to take it, asking
    // again, the stop protocol's timer and the retry of failed writes.
    caf::reacts_to<start_atom, msg::probe_reply>,          //
    caf::reacts_to<start_atom, msg::start_mover_reply>,    //
    caf::reacts_to<start_atom, absent_atom, std::string>,  //
    caf::reacts_to<start_atom, retry_atom>,                //
    caf::reacts_to<tick_atom, std::uint64_t>,              //
    caf::reacts_to<retry_atom>>;

/// The OMA's directory of jobs (oma/registry_actor.hpp has what each message does).
using registry_hdl =
    caf::typed_actor<caf::reacts_to<start_atom, caf::actor>,                             //
                     caf::replies_to<msg::replicate_request>::with<job_record>,          //
                     caf::replies_to<msg::stop_request>::with<job_record>,               //
                     caf::replies_to<resume_atom, std::string>::with<job_record>,        //
                     caf::replies_to<remove_atom, msg::stop_request>::with<job_record>,  //
                     caf::replies_to<plan_atom, msg::stop_request>::with<stop_plan>,     //
                     caf::replies_to<get_atom, std::string>::with<job_record>,           //
                     caf::replies_to<list_atom>::with<std::vector<job_summary>>,         //
                     caf::replies_to<agents_atom>::with<std::vector<agent_status>>,      //
                     caf::reacts_to<watch_atom, std::string>,                            //
                     caf::reacts_to<msg::vma_status>,                                    //
                     caf::reacts_to<gate_atom, bool, maintenance_scope, std::string>,    //
                     caf::reacts_to<trigger_atom, std::string, trigger_action>,          //
                     caf::reacts_to<snapshot_atom, std::string, msg::progress>,          //
                     caf::reacts_to<exited_atom, std::string, msg::progress>,            //
                     caf::reacts_to<lost_atom, std::string, std::string>,                //
                     caf::reacts_to<stalled_atom, std::string, std::uint64_t>,           //
                     caf::reacts_to<bus::envelope>>;

/// The owner of the target volumes (oma/volume_actor.hpp has what each message does).
using volume_hdl = caf::typed_actor<
    caf::replies_to<attach_atom, std::string, std::uint64_t, std::string>::with<std::string,
                                                                                std::uint64_t>,
    caf::reacts_to<finish_atom, std::string, bool, std::string>,  // answers once done, or an error
    caf::replies_to<get_atom, std::string>::with<volumes::volume_info>,  //
    caf::reacts_to<bus::envelope>,                                       //
    caf::reacts_to<shutdown_atom>>;

}  // namespace mk::actors

// These travel only between the actors of one process, as values; what crosses processes is
// MessagePack (messages/). CAF never serialises them, so they need no inspect().
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mk::actors::job_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mk::actors::stop_plan)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<mk::actors::job_summary>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<mk::actors::agent_status>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mk::actors::maintenance_scope)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mk::actors::trigger_action)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mk::volumes::volume_info)
