// name: poor-subnets
// title: Poor streams (audio by default) by subnet and connection type
// category: network
// description: Classified (good or poor) streams of one modality, audio by default, grouped by the
//   subnet and connection type (wired, wifi, ...) of the side that sent them, with the share that
//   was poor: poor / (poor + good), as the Call Quality Dashboard computes it (unclassified streams
//   count in neither). A Wi-Fi subnet at the top is the access point or the office to look at.
//   Subnets with fewer than minStreams classified streams are left out.
// param: minStreams int = 10 | example: 50 | subnets with fewer classified streams are left out
// param: modality string = audio | example: video | the streams counted: audio, video, vbss, appSharing or data
// param: since datetime = null | example: 2026-11-01T00:00:00Z | calls starting at or after this
// param: until datetime = null | example: 2026-11-08T00:00:00Z | calls starting before this
// param: limit int = 100 | most rows to return
// param: fresh bool = false | read the calls even where the summaries are current (see callgraph summarize)
// summary: minStreams = 0
//
// In Neo4j Browser, run these first:
// :param minStreams => 10
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
  MATCH (s:SummaryRow) WHERE s.query = 'poor-subnets' AND s.rank IS NOT NULL
  RETURN s.subnet AS subnet, s.connectionType AS connectionType, s.calls AS calls,
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
  // Each media line counts the classified and poor streams each side sent (see docs/graph-model.md).
  MATCH (c)-[:CONTAINS]->(:Session)-[:CONTAINS]->(:Segment)-[:CONTAINS]->(m:Media)
  WHERE m.modality = $modality
  UNWIND [{subnet: m.callerNetworkSubnet, connectionType: m.callerNetworkConnectionType,
           rated: m.callerRatedStreams, poor: m.callerPoorStreams},
          {subnet: m.calleeNetworkSubnet, connectionType: m.calleeNetworkConnectionType,
           rated: m.calleeRatedStreams, poor: m.calleePoorStreams}] AS sent
  WITH c, sent WHERE sent.subnet IS NOT NULL AND sent.rated > 0
  WITH sent.subnet AS subnet, sent.connectionType AS connectionType, count(DISTINCT c) AS calls,
       sum(sent.rated) AS streams, sum(sent.poor) AS poorStreams
  WHERE streams >= $minStreams
  RETURN subnet, connectionType, calls, streams, poorStreams,
         round(toFloat(poorStreams) / streams, 3) AS poorRatio
  ORDER BY poorRatio DESC, streams DESC, subnet, connectionType
  LIMIT $limit
}
WITH * WHERE streams >= $minStreams
RETURN subnet, connectionType, calls, streams, poorStreams, poorRatio
ORDER BY poorRatio DESC, streams DESC, subnet, connectionType
LIMIT $limit
