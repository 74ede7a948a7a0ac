// name: relay-timeline
// title: Media relays day by day
// category: network
// description: For each media relay (or the one given), per day: calls through it and the share
//   of its classified audio streams that were poor: poor / (poor + good), as the Call Quality
//   Dashboard computes it (unclassified streams count in neither). Audio only. Shows when a relay
//   went bad and whether it recovered.
// param: relayIp string = null | example: 52.114.188.32 | one relay only (null: all of them)
// param: since datetime = null | example: 2026-11-01T00:00:00Z | calls starting at or after this
// param: until datetime = null | example: 2026-11-08T00:00:00Z | calls starting before this
// param: limit int = 100 | most rows to return
// param: fresh bool = false | read the calls even where the summaries are current (see callgraph summarize)
// summary: as is
//
// In Neo4j Browser, run these first:
// :param relayIp => null
// :param since => null
// :param until => null
// :param limit => 100
// :param fresh => false
// Without a window: the rows `callgraph summarize` kept, while no load has written call records
// since (fresh = true reads the calls anyway). Otherwise the calls: every one, read in store order,
// or those the startDateTime index finds in the window.
OPTIONAL MATCH (state:Summaries {id: 'all'})
WITH $since IS NULL AND $until IS NULL AND NOT $fresh
     AND coalesce(state.builtFor = state.dataVersion, false) AS summarized
CALL (summarized) {
  WITH summarized WHERE summarized
  // (rank IS NOT NULL lets the (query, rank) index find the rows: no scan of every SummaryRow)
  MATCH (s:SummaryRow) WHERE s.query = 'relay-timeline' AND s.rank IS NOT NULL
    AND ($relayIp IS NULL OR s.relayIp = $relayIp)
  RETURN s.relayIp AS relayIp, s.day AS day, s.calls AS calls,
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
  WHERE ($relayIp IS NULL OR r.ip = $relayIp)
  WITH r.ip AS relayIp, date(c.startDateTime) AS day, count(DISTINCT c) AS calls,
       sum(CASE WHEN u.modality = 'audio' THEN u.ratedStreams ELSE 0 END) AS streams,
       sum(CASE WHEN u.modality = 'audio' THEN u.poorStreams ELSE 0 END) AS poorStreams
  // always true: it keeps the planner from sorting every row before grouping them
  WHERE calls > 0
  RETURN relayIp, day, calls, streams, poorStreams,
         CASE WHEN streams = 0 THEN 0.0 ELSE round(toFloat(poorStreams) / streams, 3) END AS poorRatio
  ORDER BY relayIp, day
  LIMIT $limit
}
RETURN relayIp, day, calls, streams, poorStreams, poorRatio
ORDER BY relayIp, day
LIMIT $limit
