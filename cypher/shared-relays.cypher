// name: shared-relays
// title: Media relays shared by calls, busiest and worst first
// category: network
// description: Media relays (TURN servers) used by at least minCalls distinct call records: how
//   many calls and users went through each, how many streams of the given modality (audio by
//   default) on the media lines that used it were classified (good or poor), and how many of those
//   were poor. poorRatio is poor / (poor + good), as the Call Quality Dashboard computes it
//   (unclassified streams count in neither, 0.0 when none is classified). A busy relay with a high
//   poorRatio is the one to take to Microsoft or your network team.
// param: minCalls int = 2 | example: 5 | relays used by fewer calls are left out
// param: modality string = audio | example: video | the streams counted: audio, video, vbss, appSharing or data
// param: since datetime = null | example: 2026-11-01T00:00:00Z | calls starting at or after this
// param: until datetime = null | example: 2026-11-08T00:00:00Z | calls starting before this
// param: limit int = 100 | most rows to return
// param: fresh bool = false | read the calls even where the summaries are current (see callgraph summarize)
// summary: minCalls = 0
//
// In Neo4j Browser, run these first:
// :param minCalls => 2
// :param modality => 'audio'
// :param since => null
// :param until => null
// :param limit => 100
// :param fresh => false
// Without a window: the rows `callgraph summarize` kept, while no load has written call records
// since (fresh = true reads the calls anyway). Otherwise the calls: every one, read in store order,
// or those the startDateTime index finds in the window.
OPTIONAL MATCH (state:Summaries {id: 'all'})
WITH $since IS NULL AND $until IS NULL AND NOT $fresh AND $modality = 'audio'
     AND coalesce(state.builtFor = state.dataVersion, false) AS summarized
CALL (summarized) {
  WITH summarized WHERE summarized
  // (rank IS NOT NULL lets the (query, rank) index find the rows: no scan of every SummaryRow)
  MATCH (s:SummaryRow) WHERE s.query = 'shared-relays' AND s.rank IS NOT NULL
  RETURN s.relayIp AS relayIp, s.calls AS calls, s.users AS users,
         s.streams AS streams, s.poorStreams AS poorStreams, s.poorRatio AS poorRatio
  UNION ALL
  WITH summarized WHERE NOT summarized
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
       sum(CASE WHEN u.modality = $modality THEN u.ratedStreams ELSE 0 END) AS streams,
       sum(CASE WHEN u.modality = $modality THEN u.poorStreams ELSE 0 END) AS poorStreams
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
}
WITH * WHERE calls >= $minCalls
RETURN relayIp, calls, users, streams, poorStreams, poorRatio
ORDER BY calls DESC, poorRatio DESC, relayIp
LIMIT $limit
