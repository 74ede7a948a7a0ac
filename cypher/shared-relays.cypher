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
MATCH (c:CallRecord)-[:CONTAINS]->(:Session)-[:CONTAINS]->(g:Segment)-[:USED_RELAY]->(r:Relay)
WHERE c.startDateTime >= coalesce($since, datetime('0001-01-01T00:00:00Z'))
  AND c.startDateTime < coalesce($until, datetime('9999-12-31T00:00:00Z'))
WITH r, count(DISTINCT c) AS calls, collect(DISTINCT g) AS segments
WHERE calls >= $minCalls
CALL (segments) {
  UNWIND segments AS g
  OPTIONAL MATCH (g)-[:CALLER|CALLEE]->(u:Endpoint {kind: 'user'})
  RETURN count(DISTINCT u) AS users
}
CALL (r, segments) {
  UNWIND segments AS g
  MATCH (g)-[u:USED_RELAY]->(r)
  MATCH (g)-[:CONTAINS]->(m:Media)-[:CONTAINS]->(st:Stream)
  WHERE m.ordinal = u.mediaOrdinal AND st.poor IS NOT NULL
  RETURN count(DISTINCT st) AS streams, count(DISTINCT CASE WHEN st.poor THEN st END) AS poorStreams
}
RETURN r.ip AS relayIp, calls, users, streams, poorStreams,
       CASE WHEN streams = 0 THEN 0.0 ELSE round(toFloat(poorStreams) / streams, 3) END AS poorRatio
ORDER BY calls DESC, poorRatio DESC, relayIp
LIMIT $limit
