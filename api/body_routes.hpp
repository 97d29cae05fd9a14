#pragma once

#include <httplib.h>

#include <string>

namespace mk::api {

/// The methods whose requests may carry a body.
enum class body_method { post, put, del };

/// Registers `handler` for `method` on `pattern`, with the request's body read first, so that
/// the handler sees `req.body` as usual. A request with neither Content-Length nor
/// Transfer-Encoding has an empty body (RFC 9112, section 6.3): `curl -X POST URL` sends
/// exactly that. cpp-httplib 0.11 instead reads such a body until the client closes the
/// connection, which a client that keeps it open never does, and answers 400 after its read
/// timeout. Every POST, PUT and DELETE route is registered here: cpp-httplib looks for a route
/// of this kind before one of the plain kind, and `add_unrouted_bodies` takes the rest.
void add_body_route(httplib::Server& http, body_method method, const std::string& pattern,
                    httplib::Server::Handler handler);

/// 404 for a POST, PUT or DELETE that no route took, answered at once rather than after the
/// wait for a body that never comes. Registered after every other route.
void add_unrouted_bodies(httplib::Server& http);

}  // namespace mk::api
