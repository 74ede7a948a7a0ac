// name: client-versions
// title: Client versions with the worst audio
// category: clients
// description: Audio sent by Teams clients, grouped by platform, product family and user-agent
//   version, with the share that was poor: poor / (poor + good) of the classified audio streams,
//   as the Call Quality Dashboard computes it (unclassified streams count in neither). Helps tell
//   a bad client build from a bad network. Versions with fewer than minStreams classified streams
//   are left out.
// param: minStreams int = 10 | example: 50 | versions with fewer classified audio streams are left out
// param: since datetime = null | example: 2026-11-01T00:00:00Z | calls starting at or after this
// param: until datetime = null | example: 2026-11-08T00:00:00Z | calls starting before this
// param: limit int = 100 | most rows to return
// param: fresh bool = false | read the calls even where the summaries are current (see callgraph summarize)
// summary: minStreams = 0
//
// In Neo4j Browser, run these first:
// :param minStreams => 10
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
  MATCH (s:SummaryRow) WHERE s.query = 'client-versions' AND s.rank IS NOT NULL
  RETURN s.platform AS platform, s.productFamily AS productFamily, s.userAgent AS userAgent,
         s.users AS users, s.streams AS streams, s.poorStreams AS poorStreams,
         s.poorRatio AS poorRatio
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
  // A segment's CALLER and CALLEE edges count the rated and poor audio streams that end sent.
  MATCH (c)-[:CONTAINS]->(:Session)-[:CONTAINS]->(:Segment)-[side:CALLER|CALLEE]->(e:Endpoint)
  WHERE side.userAgentPlatform IS NOT NULL AND side.sentRatedStreams > 0
  WITH side.userAgentPlatform AS platform, side.userAgentProductFamily AS productFamily,
       side.userAgentHeaderValue AS userAgent, count(DISTINCT e) AS users, sum(side.sentRatedStreams) AS streams,
       sum(side.sentPoorStreams) AS poorStreams
  WHERE streams >= $minStreams
  RETURN platform, productFamily, userAgent, users, streams, poorStreams,
         round(toFloat(poorStreams) / streams, 3) AS poorRatio
  ORDER BY poorRatio DESC, streams DESC, platform, productFamily, userAgent
  LIMIT $limit
}
WITH * WHERE streams >= $minStreams
RETURN platform, productFamily, userAgent, users, streams, poorStreams, poorRatio
ORDER BY poorRatio DESC, streams DESC, platform, productFamily, userAgent
LIMIT $limit
