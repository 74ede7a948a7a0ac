// name: shared-relays
// title: Media relays shared by calls, busiest and worst first
// category: network
// description: Media relays (TURN servers) used by at least minCalls distinct call records: how
//   many calls and users went through each, how many audio streams of the media that used it
//   were rated, and how many of those were poor (Call Quality Dashboard rule). A busy relay with
//   a high poorRatio is the one to take to Microsoft or your network team.
// param: minCalls int = 2 | example: 5 | relays used by fewer calls are left out
// param: since datetime = null | example: 2026-11-01T00:00:00Z | calls starting at or after this
// param: until datetime = null | example: 2026-11-08T00:00:00Z | calls starting before this
// param: limit int = 100 | most rows to return
//
// In Neo4j Browser, run these first:
// :param minCalls => 2
// :param since => null
// :param until => null
// :param limit => 100
// No window: every call, read in store order. A window: the startDateTime index finds its calls.
CALL () {
  WITH $since IS NULL AND $until IS NULL AS everything WHERE everything
  MATCH (c:CallRecord)
  RETURN c
  UNION ALL
  WITH $since IS NOT NULL OR $until IS NOT NULL AS window WHERE window
  MATCH (c:CallRecord)
  WHERE c.startDateTime >= coalesce($since, datetime('0001-01-01T00:00:00Z'))
    AND c.startDateTime < coalesce($until, datetime('9999-12-31T00:00:00Z'))
  RETURN c
}
MATCH (c)-[:CONTAINS]->(:Session)-[:CONTAINS]->(g:Segment)-[u:USED_RELAY]->(r:Relay)
WITH r, count(DISTINCT c) AS calls, collect(DISTINCT g) AS segments,
     sum(u.ratedStreams) AS streams, sum(u.poorStreams) AS poorStreams
WHERE calls >= $minCalls
CALL (segments) {
  UNWIND segments AS g
  OPTIONAL MATCH (g)-[:CALLER|CALLEE]->(u:Endpoint {kind: 'user'})
  RETURN count(DISTINCT u) AS users
}
RETURN r.ip AS relayIp, calls, users, streams, poorStreams,
       CASE WHEN streams = 0 THEN 0.0 ELSE round(toFloat(poorStreams) / streams, 3) END AS poorRatio
ORDER BY calls DESC, poorRatio DESC, relayIp
LIMIT $limit
