// name: gateway-health
// title: PSTN gateway (SBC) health
// category: pstn
// description: Each gateway seen in the call records (a service endpoint in the gateway role,
//   keyed by the user agent it sends, with the media IPs it used): calls through it, segments,
//   how many failed and at which stage, and the share of poor audio on its segments: poor / (poor
//   + good) of its audio streams, as the Call Quality Dashboard computes it (unclassified streams
//   count in neither). A failing SBC rises to the top.
// param: since datetime = null | example: 2026-11-01T00:00:00Z | calls starting at or after this
// param: until datetime = null | example: 2026-11-08T00:00:00Z | calls starting before this
// param: limit int = 100 | most rows to return
// param: fresh bool = false | read the calls even where the summaries are current (see callgraph summarize)
// summary: as is
//
// In Neo4j Browser, run these first:
// :param since => null
// :param until => null
// :param limit => 100
// :param fresh => false
// Without a window: the rows `callgraph summarize` kept, while no load has written call records
// since (fresh = true reads the calls anyway). Otherwise the calls through each gateway, in the
// window if there is one.
OPTIONAL MATCH (state:Summaries {id: 'all'})
WITH $since IS NULL AND $until IS NULL AND NOT $fresh
     AND coalesce(state.builtFor = state.dataVersion, false) AS summarized
CALL (summarized) {
  WITH summarized WHERE summarized
  // (rank IS NOT NULL lets the (query, rank) index find the rows: no scan of every SummaryRow)
  MATCH (s:SummaryRow) WHERE s.query = 'gateway-health' AND s.rank IS NOT NULL
  RETURN s.gateway AS gateway, s.ips AS ips, s.calls AS calls,
         s.segments AS segments, s.failedSegments AS failedSegments, s.setupFailures AS setupFailures,
         s.midcallFailures AS midcallFailures, s.failureRate AS failureRate, s.streams AS streams,
         s.poorStreams AS poorStreams, s.poorRatio AS poorRatio
  UNION ALL
  WITH summarized WHERE NOT summarized
  MATCH (gw:Endpoint {role: 'gateway'})<-[side:CALLER|CALLEE]-(g:Segment)<-[:CONTAINS]-(:Session)<-[:CONTAINS]-(c:CallRecord)
  WHERE c.startDateTime >= coalesce($since, datetime('0001-01-01T00:00:00Z'))
    AND c.startDateTime < coalesce($until, datetime('9999-12-31T00:00:00Z'))
  OPTIONAL MATCH (g)-[:CONTAINS]->(m:Media)
  WITH gw, c, g,
       CASE type(side) WHEN 'CALLER' THEN m.callerNetworkIpAddress ELSE m.calleeNetworkIpAddress END AS ip
  WITH gw, count(DISTINCT c) AS calls, collect(DISTINCT g) AS segments, collect(DISTINCT ip) AS ips
  CALL (segments) {
    UNWIND segments AS g
    OPTIONAL MATCH (g)-[:CONTAINS]->(:Media)-[:CONTAINS]->(st:Stream)
    WHERE st.modality = 'audio' AND st.quality IN ['good', 'poor']
    RETURN count(DISTINCT CASE WHEN g.failureStage = 'callSetup' THEN g END) AS setupFailures,
           count(DISTINCT CASE WHEN g.failureStage = 'midcall' THEN g END) AS midcallFailures,
           count(DISTINCT CASE WHEN g.failureStage IS NOT NULL THEN g END) AS failedSegments,
           count(DISTINCT st) AS streams,
           count(DISTINCT CASE WHEN st.quality = 'poor' THEN st END) AS poorStreams
  }
  RETURN gw.userAgent AS gateway, ips, calls, size(segments) AS segments, failedSegments, setupFailures,
         midcallFailures, round(toFloat(failedSegments) / size(segments), 3) AS failureRate,
         streams, poorStreams,
         CASE WHEN streams = 0 THEN 0.0 ELSE round(toFloat(poorStreams) / streams, 3) END AS poorRatio
  ORDER BY failureRate DESC, calls DESC, gateway
  LIMIT $limit
}
RETURN gateway, ips, calls, segments, failedSegments, setupFailures, midcallFailures, failureRate, streams, poorStreams, poorRatio
ORDER BY failureRate DESC, calls DESC, gateway
LIMIT $limit
