// name: call-path
// title: One call, hop by hop
// category: calls
// description: Every segment of one call record in time order: its session, who was at each
//   end (name and role: user, phone, gateway, mediationServer, ...), when, which media relays
//   it used, how it failed, and whether any of its audio streams was poor.
// param: callRecordId string | example: 0de00000-0000-4000-8000-000000000001 | the call record's id
//
// In Neo4j Browser, run this first (with the id you are after):
// :param callRecordId => '0de00000-0000-4000-8000-000000000001'
MATCH (:CallRecord {id: $callRecordId})-[:CONTAINS]->(s:Session)-[:CONTAINS]->(g:Segment)
MATCH (g)-[ar:CALLER]->(a:Endpoint)
MATCH (g)-[br:CALLEE]->(b:Endpoint)
OPTIONAL MATCH (g)-[:USED_RELAY]->(r:Relay)
WITH s, g, ar, a, br, b, collect(DISTINCT r.ip) AS relays
RETURN s.ordinal AS session,
       s.id AS sessionId,
       g.ordinal AS segment,
       coalesce(a.displayName, a.id, a.userAgent, a.kind) AS caller,
       coalesce(ar.userAgentRole, a.role, a.kind) AS callerRole,
       coalesce(b.displayName, b.id, b.userAgent, b.kind) AS callee,
       coalesce(br.userAgentRole, b.role, b.kind) AS calleeRole,
       g.startDateTime AS start,
       g.endDateTime AS end,
       relays,
       g.failureStage AS failureStage,
       g.failureReason AS failureReason,
       EXISTS { (g)-[:CONTAINS]->(:Media)-[:CONTAINS]->(:Stream {modality: 'audio', quality: 'poor'}) } AS poor
ORDER BY start, session, segment
